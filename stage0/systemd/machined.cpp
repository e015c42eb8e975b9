#include "stage0/systemd/machined.hpp"

#include <array>

namespace ferry::systemd {

namespace {

std::array<uint8_t, 16> uuidBytes(const std::string& uuid) {
  std::array<uint8_t, 16> out{};
  size_t n = 0;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    int hi = hex(uuid[i]), lo = i + 1 < uuid.size() ? hex(uuid[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n == out.size()) {
      throw Error(Errc::kInvalid, "cannot register machine: " + quote(uuid) + " is not a UUID");
    }
    out[n++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
  if (n != out.size()) {
    throw Error(Errc::kInvalid, "cannot register machine: " + quote(uuid) + " is not a UUID");
  }
  return out;
}

}  // namespace

bool registerMachine(Bus& bus, const MachineRegistration& m) {
  auto id = uuidBytes(m.uuid);
  try {
    bus.call(
        "org.freedesktop.machine1", "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
        "RegisterMachine",
        [&](Writer& w) {
          w.str(m.name).bytes(id.data(), id.size()).str("ferry").str("container");
          w.u32(static_cast<uint32_t>(m.leader)).str(m.rootDirectory.string());
        },
        "register machine " + quote(m.name));
  } catch (const BusError& e) {
    // No machined on that bus (not installed, or not activatable).
    if (e.name() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
        e.name() == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        e.name().starts_with("org.freedesktop.DBus.Error.Spawn.") ||
        e.name() == "org.freedesktop.systemd1.NoSuchUnit") {
      return false;
    }
    throw;
  }
  return true;
}

}  // namespace ferry::systemd
