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
// decides, and without it loading needs CAP_SYS_ADMIN (see app_process.cpp).
//
// What is loaded is always a SeccompProgram: the classic BPF libseccomp generated
// (seccomp_export_bpf) and the seccomp(2) flags linux.seccomp.flags names, installed by
// loadSeccompProgram with seccomp(SECCOMP_SET_MODE_FILTER) as libseccomp's seccomp_load would.
// The program comes either from SeccompFilter (libseccomp, ~0.7 ms for the default profile) or
// from a cache file compiled earlier for the same linux.seccomp (stage1/ABI.md §3
// "apps/<app>/seccomp.bpf"): seccompCacheKey is a SHA-256 over what decides the program (the
// canonical JSON text of linux.seccomp, libseccomp's version, the native architecture, the
// kernel release and kSeccompCompilerRevision), the file carries it with a SHA-256 of its
// body, and a file whose key or checksum is not exactly the expected one is never loaded:
// the filter is compiled instead (seccompProgramFor).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.hpp"
#include "formats/oci/runtime_spec.hpp"

namespace ferry::stage2 {

// SCMP_ACT_ERRNO / SCMP_ACT_TRACE take errnoRet (default EPERM); the others must not have one.
// Throws Error naming `path`.
uint32_t seccompAction(std::string_view name, std::optional<uint32_t> errnoRet,
                       std::string_view path);
uint32_t seccompArch(std::string_view name, std::string_view path);  // SCMP_ARCH_X86_64 → token
int seccompOperator(std::string_view name, std::string_view path);   // SCMP_CMP_EQ → scmp_compare

// A filter as the kernel takes it.
struct SeccompProgram {
  std::vector<sock_filter> instructions;
  unsigned flags = 0;                // SECCOMP_FILTER_FLAG_*
  std::vector<std::string> skipped;  // syscall names libseccomp did not know
};

// The seccomp(2) flags of linux.seccomp.flags (TSYNC, LOG, SPEC_ALLOW), those libseccomp's
// SCMP_FLTATR_CTL_TSYNC, _LOG and _SSB give. Throws Error naming the flag it does not support.
unsigned seccompLoadFlags(const oci::Seccomp& spec);

// seccomp(SECCOMP_SET_MODE_FILTER, p.flags, p): from here on only what the filter allows.
// Needs no_new_privs or CAP_SYS_ADMIN, as seccomp_load does.
void loadSeccompProgram(const SeccompProgram& p);

class SeccompFilter {
 public:
  explicit SeccompFilter(const oci::Seccomp& spec);
  ~SeccompFilter();
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  // The generated BPF, the flags and the skipped names.
  SeccompProgram program() const;
  // The filter in libseccomp's pseudo-filter-code text (for tests and --debug).
  std::string exportPfc() const;
  const std::vector<std::string>& skippedSyscalls() const { return skipped_; }

 private:
  struct Release {
    void operator()(void* ctx) const;
  };
  std::unique_ptr<void, Release> ctx_;  // scmp_filter_ctx
  std::vector<std::string> skipped_;
  unsigned flags_ = 0;
};

// --- compiled filters kept in files (stage1/ABI.md §3 "apps/<app>/seccomp.bpf")

// Bumped whenever SeccompFilter's translation of linux.seccomp changes (the same text must then
// give another program): part of the cache key, so an older ferry's files are not loaded.
constexpr uint32_t kSeccompCompilerRevision = 2;

// The file name of a bundle's compiled filter, beside config.json.
inline constexpr std::string_view kSeccompCacheFile = "seccomp.bpf";

using SeccompKey = Sha256::Bytes;

// The canonical text of linux.seccomp: the parsed object written back by formats/oci (the same
// bytes for the same parsed object, whatever the spacing or key order of config.json).
std::string seccompCanonicalText(const oci::Seccomp& spec);
// SHA-256 over "ferry seccomp.bpf", the file format version, kSeccompCompilerRevision,
// libseccomp's version, the native architecture, the kernel release and the canonical text.
SeccompKey seccompCacheKey(const oci::Seccomp& spec);

// The file: a header (magic "FERRYBPF", format version, instruction count, the length of the
// skipped names, the key, the SHA-256 of the body), then the body: the skipped names, each
// followed by '\n', and the sock_filter array in the host's byte order.
std::string encodeSeccompCache(const SeccompKey& key, const SeccompProgram& p);
// The program of a file made by encodeSeccompCache for `key` (flags 0: they come from the
// spec), or nullopt with the reason in `why` (too short, another magic or version, a size that
// does not add up, another key, a body whose checksum differs).
std::optional<SeccompProgram> decodeSeccompCache(std::string_view bytes, const SeccompKey& key,
                                                 std::string& why);
// Whether the header of a file (its first bytes) is one for `key` and says the file's size is
// `size`: the cheap check the stage1 makes before it links a cache entry.
bool seccompCacheHeaderMatches(std::string_view head, uint64_t size, const SeccompKey& key);
constexpr size_t kSeccompCacheHeaderSize = 88;

// A bundle's file read only when its directory is root's and writable by root alone and it is
// a regular file (not followed if a symlink) owned by root and writable by root alone; nullopt
// with the reason otherwise.
std::optional<std::string> readSeccompCacheFile(const std::filesystem::path& file,
                                                std::string& why);

// What AppProcess loads: the program of `cacheFile` when it holds this spec's (key and
// checksum), otherwise SeccompFilter's. `fromCache` says which; `why` why not the file.
SeccompProgram seccompProgramFor(const oci::Seccomp& spec,
                                 const std::optional<std::filesystem::path>& cacheFile,
                                 bool* fromCache = nullptr, std::string* why = nullptr);

}  // namespace ferry::stage2
