// Helper binaries that a pod can reach but never write (CVE-2019-5736's class).
//
// A process inside a pod's PID namespace exposes its executable as /proc/<pid>/exe. A pod that
// opens that link with O_PATH while a host binary runs there (the pod init, ferry-stage2 before
// it execs the app, a `ferry enter` command before its exec, or the app itself after a
// `#!/proc/self/exe` script made it run ferry-stage2) can reopen it for writing through
// /proc/self/fd/N once the binary stopped running, and every later pod then runs the pod's code
// as host root. A helper is safe when its running executable is on a read-only mount (the ns
// stage1 starts ferry-init and ferry-stage2 from read-only binds in the init's private root) or
// is a memfd sealed against every change; reexecSealed() makes it one by copying the running
// executable into such a memfd and executing that (runc's answer, its cloned binary).
#pragma once

namespace ferry {

// True when /proc/self/exe cannot be written through any open of it: it is on a read-only
// mount, or it is a memfd with F_SEAL_WRITE. False when that cannot be told.
bool selfExeSealed() noexcept;

// Unless selfExeSealed(): copies /proc/self/exe into a memfd named `name`, seals it
// (F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE) and executes it with the same argv and
// envp (the program starts again from main, and this call returns false there: it is sealed).
// Returns true when nothing was needed; throws std::system_error when it cannot.
bool reexecSealed(const char* name, char** argv, char** envp);

}  // namespace ferry
