// linux.seccomp (runtime-spec LinuxSeccomp) as a libseccomp filter.
//
// The names translate one by one (pure functions, unit-tested); SeccompFilter builds the whole
// filter in memory, before anything else is changed, and load() installs it as the very last
// step before execve. Like runc and crun: a syscall name libseccomp does not know is skipped
// (profiles list syscalls of newer kernels; skippedSyscalls() says which), a rule whose action
// equals the default action is skipped (libseccomp refuses it), and a rule with several
// conditions on the same argument becomes one rule per condition (OR), otherwise one rule
// with all of them (AND). SCMP_ACT_NOTIFY needs a listener ferry does not provide: refused.
// The filter never sets no_new_privs by itself (SCMP_FLTATR_CTL_NNP off): process.noNewPrivileges
// decides, and without it loading needs CAP_SYS_ADMIN (see stage2.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/oci/runtime_spec.hpp"

namespace ferry::stage2 {

// SCMP_ACT_ERRNO / SCMP_ACT_TRACE take errnoRet (default EPERM); the others must not have one.
// Throws Error naming `path`.
uint32_t seccompAction(std::string_view name, std::optional<uint32_t> errnoRet,
                       std::string_view path);
uint32_t seccompArch(std::string_view name, std::string_view path);  // SCMP_ARCH_X86_64 → token
int seccompOperator(std::string_view name, std::string_view path);   // SCMP_CMP_EQ → scmp_compare

class SeccompFilter {
 public:
  explicit SeccompFilter(const oci::Seccomp& spec);
  ~SeccompFilter();
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  // seccomp_load: from here on only what the filter allows.
  void load();
  // The filter in libseccomp's pseudo-filter-code text (for tests and --debug).
  std::string exportPfc() const;
  const std::vector<std::string>& skippedSyscalls() const { return skipped_; }

 private:
  struct Release {
    void operator()(void* ctx) const;
  };
  std::unique_ptr<void, Release> ctx_;  // scmp_filter_ctx
  std::vector<std::string> skipped_;
};

}  // namespace ferry::stage2
