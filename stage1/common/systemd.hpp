// What a stage1's run entrypoint passes between systemd and the pod (stage1/ABI.md §5 "systemd"),
// for every flavor whose pod init is ferry-init:
//
// - socket activation: when systemd passed this process descriptors (LISTEN_PID is ours), the
//   pod init gets LISTEN_FDS and LISTEN_FDNAMES in its otherwise empty environment, and the
//   descriptors at 3, 4, … as they are; it hands each to its app (ferry-init, ferry-stage2);
// - readiness: with NOTIFY_SOCKET set, READY=1 goes to systemd from this process (the unit's
//   main process: a Type=notify unit's default NotifyAccess=main accepts it) once the pod
//   init made `ready` — every app started, every app that speaks sd_notify said READY=1. The
//   pod itself never gets the manager's socket: each notifying app has one of its own, which
//   the init serves.
//
// A process that is not the unit's main process itself (stage0 running the stage1 as its child,
// for a pod on CNI networks) watches `ready` in its place and hands the descriptors on with
// LISTEN_PID rewritten (stage0/cli/run.cpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::stage1 {

// How many descriptors systemd passed this process (LISTEN_FDS when LISTEN_PID is ours), else 0.
int listenFdCount();

// LISTEN_FDS=N and LISTEN_FDNAMES=… for the pod init; empty when nothing was passed to us.
std::vector<std::string> socketActivationEnv();

// The pod's own journal (ABI §5 "systemd"): under systemd, stage0 has the pod's unit start the
// journald namespace instance `ferry-<uuid>` (systemd-journald@ferry-<uuid>.service and its
// sockets), whose files journald keeps in /var/log/journal/<machine-id>.ferry-<uuid>.
std::string podJournalNamespace(const std::string& uuid);
// /run/systemd/journal.<namespace>: its sockets (socket, io.systemd.journal).
std::filesystem::path journalNamespaceRuntimeDir(const std::string& ns);
// /var/log/journal/<machine-id>.<namespace>; nullopt when this host has no machine ID.
std::optional<std::filesystem::path> journalNamespaceFiles(const std::string& ns);
// The pod's UUID without dashes: the machine ID its journal has in a machine's view
// (/var/log/journal/<this> in the pod init's root, where `journalctl -M` looks).
std::string podMachineId(const std::string& uuid);

// Deletes the pod's own journal (its namespace's files and the link to them): with the pod, as
// logs/ goes with it. A journald of the namespace still running (idle, the pod being gone) keeps
// what it has open until it exits. Throws when they exist and cannot be deleted.
void removePodJournal(const std::string& uuid);

// --log-driver=journal: connects datagram sockets to the journals (not close-on-exec: the pod
// init inherits them) and adds FERRY_JOURNAL_FD=N to the init's environment (N,M when the pod's
// own namespace has its socket: that one first, then the system's; the init sends every entry
// to each), and FERRY_JOURNAL_UNIT=<unit> when this process runs in a systemd unit (a service
// or scope in its cgroup path, as systemd reads it: stage1/ABI.md §5 "systemd"). Throws when a
// journal does not listen.
void connectJournalForInit(std::vector<std::string>& initEnv, const std::string& uuid);

// For a stage1 whose init cannot inherit a socket (nspawn: systemd-nspawn closes every
// descriptor but socket activation's): the journal sockets the init connects itself, in
// FERRY_JOURNAL_FD's order (the pod's own when it exists, then the system's), with the link
// connectJournalForInit makes. Throws when the system's does not exist.
std::vector<std::filesystem::path> journalSocketsForInit(const std::string& uuid);
// The unit of this process (FERRY_JOURNAL_UNIT), else empty.
std::string ownUnit();

// The systemd unit a /proc/<pid>/cgroup text puts its process in (the first component past the
// slices of the name=systemd or the unified hierarchy, if a service or a scope), else empty.
std::string unitOfCgroups(std::string_view procCgroup);

// Starts a thread that waits for podDir/ready and then tells NOTIFY_SOCKET READY=1; nothing
// when NOTIFY_SOCKET is unset.
void notifyReadyWhenPodIs(const std::filesystem::path& podDir);
// The pod ended: READY=1 now if `ready` exists and it has not gone yet (a pod may end right after
// it made `ready`, before the thread had its turn), and the thread ends. At the latest at exit()
// (notifyReadyWhenPodIs registers it with atexit); a caller that ends with _exit calls it first.
void podEnded();

}  // namespace ferry::stage1
