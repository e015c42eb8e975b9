// `ferry logs` for a pod of --log-driver=journal: its apps' entries in the local journal (the pod's
// own namespace ferry-<uuid> when it has one, which holds every line as the system's journal
// does, else the system's), found by the fields the pod init gives each (FERRY_POD_UUID,
// FERRY_APP; stage1/ABI.md §5 "systemd").
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace ferry::systemd {

// Writes each entry's MESSAGE and a newline ("[app] " first when `prefix`); with `follow`, goes
// on with new entries until `over()` says the pod has ended (then what is left is written).
// Every line an app wrote before the last read (the pod's end with `follow`, the call without)
// is printed: journald is first made to write out what it has received (synchronizeJournal), and
// the files it added meanwhile are read too. When journald cannot be asked, `err` gets one
// warning line and the lines it had not yet written may be missing.
void printPodJournal(std::ostream& out, std::ostream& err, const std::string& uuid,
                     const std::optional<std::string>& app, bool prefix, bool follow,
                     const std::function<bool()>& over);

// io.systemd.Journal.Synchronize over journald's varlink socket (what `journalctl --sync` does):
// returns once journald has written every message it had received before the call. The pod init
// sends each line as a datagram (stage2/init/log_stream.cpp) that journald reads and writes
// later, so an entry is in a journal file only after this. Returns the cause when it failed
// (no journald, not root, no answer within 10 s), nothing when done. `varlink`: the socket of
// the journal (the system's, or a namespace's /run/systemd/journal.<namespace>/io.systemd.journal).
extern const char* const kSystemJournalVarlink;
std::optional<std::string> synchronizeJournal(const std::string& varlink = kSystemJournalVarlink);

}  // namespace ferry::systemd
