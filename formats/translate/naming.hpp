// Names ferry derives when a format lacks them, shared by both translation directions so that a
// derived name is recognized (and not stored) on the way back; and the one value check both
// directions must agree on.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace ferry::translate {

// /var/lib/data → "volume-var-lib-data" (made unique against `taken` with -2, -3, …).
std::string volumeName(std::string_view path, const std::set<std::string>& taken = {});
// 8080/tcp → "tcp-8080".
std::string portName(std::string_view protocol, uint32_t port);

// A loose RFC 3339 date-time check: what OCI's "created" must hold. An appc "created"
// annotation that fails it becomes a plain OCI label, and such a label becomes "created" again.
bool looksLikeRfc3339(std::string_view s);

}  // namespace ferry::translate
