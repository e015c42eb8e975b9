// `ferry logs` for a pod of --log-driver=journal: its apps' entries in the local journal, found by
// the fields the pod init gives each (FERRY_POD_UUID, FERRY_APP; stage1/ABI.md §5 "systemd").
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace ferry::systemd {

// Writes each entry's MESSAGE and a newline ("[app] " first when `prefix`); with `follow`, goes
// on with new entries until `over()` says the pod has ended (then what is left is written).
void printPodJournal(std::ostream& out, const std::string& uuid,
                     const std::optional<std::string>& app, bool prefix, bool follow,
                     const std::function<bool()>& over);

}  // namespace ferry::systemd
