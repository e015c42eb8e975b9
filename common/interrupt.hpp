// Temporary files and directories that go when the process is interrupted (issue 13 item 7).
//
// TempDir and oci::BlobWriter track what they create until they remove or commit it. After
// removeTrackedOnSignals(), SIGINT, SIGTERM and SIGHUP remove every tracked path (directories
// with everything under them) and then end the process by that signal, as its default action
// would have. The handler uses only async-signal-safe calls (openat, getdents64, unlinkat) on a
// fixed table of paths; a path it cannot take (the table full, a tree deeper than it goes) stays
// for `ferry image gc`, which removes at once what no live writer holds. A forked child without
// exec never cleans its parent's paths. exec(2) resets the handlers.
#pragma once

#include <string_view>

namespace ferry::interrupt {

// Thread-safe and cheap (a slot of a fixed table); no-ops for an empty path.
void track(std::string_view path) noexcept;
void untrack(std::string_view path) noexcept;

// Installs the handlers (idempotent). Called by ferry's main for every command.
void removeTrackedOnSignals() noexcept;

}  // namespace ferry::interrupt
