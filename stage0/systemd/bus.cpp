#include "stage0/systemd/bus.hpp"

#include <systemd/sd-bus.h>

#include <cstring>

namespace ferry::systemd {

namespace {

[[noreturn]] void fail(int r, const std::string& what) { throwErrno(-r, what); }

void check(int r, const char* what) {
  if (r < 0) fail(r, what);
}

}  // namespace

std::string_view busKindName(BusKind k) { return k == BusKind::kUser ? "user" : "system"; }

Writer& Writer::str(std::string_view s) {
  std::string copy(s);
  check(sd_bus_message_append_basic(m_, 's', copy.c_str()), "build a bus message");
  return *this;
}

Writer& Writer::objectPath(std::string_view s) {
  std::string copy(s);
  check(sd_bus_message_append_basic(m_, 'o', copy.c_str()), "build a bus message");
  return *this;
}

Writer& Writer::boolean(bool b) {
  int v = b ? 1 : 0;
  check(sd_bus_message_append_basic(m_, 'b', &v), "build a bus message");
  return *this;
}

Writer& Writer::u32(uint32_t v) {
  check(sd_bus_message_append_basic(m_, 'u', &v), "build a bus message");
  return *this;
}

Writer& Writer::i32(int32_t v) {
  check(sd_bus_message_append_basic(m_, 'i', &v), "build a bus message");
  return *this;
}

Writer& Writer::u64(uint64_t v) {
  check(sd_bus_message_append_basic(m_, 't', &v), "build a bus message");
  return *this;
}

Writer& Writer::bytes(const void* data, size_t size) {
  check(sd_bus_message_append_array(m_, 'y', data, size), "build a bus message");
  return *this;
}

Writer& Writer::open(char type, const char* contents) {
  check(sd_bus_message_open_container(m_, type, contents), "build a bus message");
  return *this;
}

Writer& Writer::close() {
  check(sd_bus_message_close_container(m_), "build a bus message");
  return *this;
}

Writer& Writer::property(const char* name, const char* signature,
                         const std::function<void(Writer&)>& v) {
  open('r', "sv").str(name).open('v', signature);
  v(*this);
  return close().close();
}

Reply::Reply(sd_bus_message* m) : m_(sd_bus_message_ref(m)) {}

Reply::~Reply() {
  if (m_ != nullptr) sd_bus_message_unref(m_);
}

std::string Reply::str() {
  const char* s = nullptr;
  check(sd_bus_message_read_basic(m_, 's', &s), "read a bus message");
  return s ? s : "";
}

std::string Reply::objectPath() {
  const char* s = nullptr;
  check(sd_bus_message_read_basic(m_, 'o', &s), "read a bus message");
  return s ? s : "";
}

uint32_t Reply::u32() {
  uint32_t v = 0;
  check(sd_bus_message_read_basic(m_, 'u', &v), "read a bus message");
  return v;
}

uint64_t Reply::u64() {
  uint64_t v = 0;
  check(sd_bus_message_read_basic(m_, 't', &v), "read a bus message");
  return v;
}

int32_t Reply::i32() {
  int32_t v = 0;
  check(sd_bus_message_read_basic(m_, 'i', &v), "read a bus message");
  return v;
}

bool Reply::boolean() {
  int v = 0;
  check(sd_bus_message_read_basic(m_, 'b', &v), "read a bus message");
  return v != 0;
}

void Reply::enter(char type, const char* contents) {
  check(sd_bus_message_enter_container(m_, type, contents), "read a bus message");
}

void Reply::exit() { check(sd_bus_message_exit_container(m_), "read a bus message"); }

Bus Bus::open(BusKind kind) {
  sd_bus* b = nullptr;
  int r = kind == BusKind::kUser ? sd_bus_open_user(&b) : sd_bus_open_system(&b);
  if (r < 0) {
    throw Error(Errc::kIo, "cannot connect to the " + std::string(busKindName(kind)) +
                               " bus: " + std::strerror(-r));
  }
  return Bus(b, kind);
}

Bus::~Bus() {
  if (bus_ != nullptr) sd_bus_flush_close_unref(bus_);
}

Reply Bus::call(const char* dest, const char* path, const char* iface, const char* member,
                const std::function<void(Writer&)>& args, const std::string& what) {
  sd_bus_message* m = nullptr;
  check(sd_bus_message_new_method_call(bus_, &m, dest, path, iface, member), "build a bus message");
  std::unique_ptr<sd_bus_message, sd_bus_message* (*)(sd_bus_message*)> msg(m,
                                                                            sd_bus_message_unref);
  if (args) {
    Writer w(m);
    args(w);
  }
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call(bus_, m, 0, &error, &reply);
  if (r < 0) {
    std::string name = error.name ? error.name : "";
    std::string text = error.message ? error.message : std::strerror(-r);
    sd_bus_error_free(&error);
    throw BusError(name, "cannot " + what + ": " + text);
  }
  Reply out(reply);
  sd_bus_message_unref(reply);
  return out;
}

std::string Bus::stringProperty(const char* dest, const char* path, const char* iface,
                                const char* name) {
  Reply r = call(
      dest, path, "org.freedesktop.DBus.Properties", "Get",
      [&](Writer& w) { w.str(iface).str(name); }, "read property " + std::string(name));
  r.enter('v', "s");
  return r.str();
}

uint64_t Bus::u64Property(const char* dest, const char* path, const char* iface, const char* name) {
  Reply r = call(
      dest, path, "org.freedesktop.DBus.Properties", "Get",
      [&](Writer& w) { w.str(iface).str(name); }, "read property " + std::string(name));
  r.enter('v', "t");
  return r.u64();
}

}  // namespace ferry::systemd
