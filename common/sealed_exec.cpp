#include "common/sealed_exec.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/fs.hpp"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: ask for an executable memfd whatever vm.memfd_noexec says
#endif

namespace ferry {

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool sealed(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0) return true;
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE) != 0;
}

}  // namespace

bool selfExeSealed() noexcept {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  return self && sealed(self.get());
}

bool reexecSealed(const char* name, char** argv, char** envp) {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) throwErrno("open /proc/self/exe");
  if (sealed(self.get())) return true;
  struct stat st;
  if (fstat(self.get(), &st) != 0) throwErrno("stat /proc/self/exe");
  int raw = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (raw < 0 && errno == EINVAL) raw = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  UniqueFd copy(raw);
  if (!copy) throwErrno("create a memfd for a sealed copy of /proc/self/exe");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throwErrno("copy /proc/self/exe into a memfd");
  }
  if (fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) throwErrno("seal the memfd copy");
  self.reset();
  // AT_EMPTY_PATH on an O_CLOEXEC descriptor: fine for an ELF binary (only a script would need
  // the descriptor after the exec).
  syscall(SYS_execveat, copy.get(), "", argv, envp, AT_EMPTY_PATH);
  throwErrno("execute the sealed copy of /proc/self/exe");
}

}  // namespace ferry
