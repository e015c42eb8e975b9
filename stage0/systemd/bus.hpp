// sd-bus, the way ferry uses it (libsystemd; the ferry executable loads it on first use:
// sd_lazy.cpp).
//
// A Bus is one connection to the system bus (sd_bus_open_system: DBUS_SYSTEM_BUS_ADDRESS when
// set, else /run/dbus/system_bus_socket) or to the caller's user bus. Calls are built with a
// Writer (only the non-variadic sd-bus API: it is what the lazy trampolines can forward) and
// answered by a Reply. Errors are ferry::Error "cannot <what>: <D-Bus error message>";
// BusError keeps the D-Bus error name for callers that tell a missing service from a refusal.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

struct sd_bus;
struct sd_bus_message;

namespace ferry::systemd {

enum class BusKind { kSystem, kUser };

class BusError : public Error {
 public:
  BusError(std::string name, const std::string& message)
      : Error(Errc::kIo, message), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Appends the arguments of a method call.
class Writer {
 public:
  explicit Writer(sd_bus_message* m) : m_(m) {}
  Writer& str(std::string_view s);
  Writer& objectPath(std::string_view s);
  Writer& boolean(bool b);
  Writer& u32(uint32_t v);
  Writer& i32(int32_t v);
  Writer& u64(uint64_t v);
  Writer& bytes(const void* data, size_t size);   // ay
  Writer& open(char type, const char* contents);  // 'a', 'r', 'v', 'e'
  Writer& close();
  // One (sv) of a unit's property array: name, then the variant holding `signature`.
  Writer& property(const char* name, const char* signature, const std::function<void(Writer&)>& v);

 private:
  sd_bus_message* m_;
};

// A method's reply (or a signal), read in order.
class Reply {
 public:
  explicit Reply(sd_bus_message* m);  // takes a reference
  ~Reply();
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  Reply(Reply&& o) noexcept : m_(o.m_) { o.m_ = nullptr; }
  std::string str();
  std::string objectPath();
  uint32_t u32();
  uint64_t u64();
  int32_t i32();
  bool boolean();
  void enter(char type, const char* contents);
  void exit();
  sd_bus_message* get() const { return m_; }

 private:
  sd_bus_message* m_;
};

class Bus {
 public:
  static Bus open(BusKind kind);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;
  Bus(Bus&& o) noexcept : bus_(o.bus_), kind_(o.kind_) { o.bus_ = nullptr; }

  // Calls dest's method; `what` names it in errors ("start unit \"x\"").
  Reply call(const char* dest, const char* path, const char* iface, const char* member,
             const std::function<void(Writer&)>& args, const std::string& what);
  // A property of type s, t or b, read with org.freedesktop.DBus.Properties.Get.
  std::string stringProperty(const char* dest, const char* path, const char* iface,
                             const char* name);
  uint64_t u64Property(const char* dest, const char* path, const char* iface, const char* name);

  sd_bus* get() const { return bus_; }
  BusKind kind() const { return kind_; }

 private:
  Bus(sd_bus* b, BusKind k) : bus_(b), kind_(k) {}
  sd_bus* bus_;
  BusKind kind_;
};

std::string_view busKindName(BusKind k);  // "system" | "user"

}  // namespace ferry::systemd
