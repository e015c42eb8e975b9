// Names ferry derives when a format lacks them, shared by both translation directions so that a
// derived name is recognized (and not stored) on the way back.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace ferry::translate {

// /var/lib/data → "volume-var-lib-data" (made unique against `taken` with -2, -3, …).
std::string volumeName(std::string_view path, const std::set<std::string>& taken = {});
// 8080/tcp → "tcp-8080".
std::string portName(std::string_view protocol, uint32_t port);

}  // namespace ferry::translate
