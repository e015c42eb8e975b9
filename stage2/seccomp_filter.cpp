#include "stage2/seccomp_filter.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::stage2 {

namespace {

constexpr uint32_t kMaxErrno = 0xffff;  // the errno travels in the low 16 bits of the action

[[noreturn]] void failLib(int rc, const std::string& what) {
  // libseccomp returns -errno.
  throwErrno(-rc, what);
}

}  // namespace

uint32_t seccompAction(std::string_view name, std::optional<uint32_t> errnoRet,
                       std::string_view path) {
  bool takesErrno = name == "SCMP_ACT_ERRNO" || name == "SCMP_ACT_TRACE";
  if (errnoRet && !takesErrno) {
    json::fail(path, "errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not " +
                         std::string(name));
  }
  uint32_t err = errnoRet.value_or(EPERM);
  if (err > kMaxErrno) json::fail(path, "errnoRet " + std::to_string(err) + " is above 65535");
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    throw Error(Errc::kUnsupported, std::string(path) +
                                        ": SCMP_ACT_NOTIFY needs a seccomp listener, which ferry "
                                        "does not provide");
  }
  json::fail(path, "unknown seccomp action " + quote(name));
}

uint32_t seccompArch(std::string_view name, std::string_view path) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  if (name.substr(0, kPrefix.size()) == kPrefix && name.size() > kPrefix.size()) {
    // libseccomp's names are the lower-case suffixes: SCMP_ARCH_X86_64 → "x86_64".
    std::string lower;
    for (char c : name.substr(kPrefix.size())) {
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    uint32_t token = seccomp_arch_resolve_name(lower.c_str());
    if (token != 0) return token;
  }
  json::fail(path, "architecture " + quote(name) + " is unknown to libseccomp");
}

int seccompOperator(std::string_view name, std::string_view path) {
  static const std::map<std::string_view, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  auto it = kOps.find(name);
  if (it == kOps.end()) json::fail(path, "unknown seccomp operator " + quote(name));
  return it->second;
}

SeccompFilter::SeccompFilter(const oci::Seccomp& spec) {
  const std::string path = "linux.seccomp";
  uint32_t def = seccompAction(spec.defaultAction, spec.defaultErrnoRet, path);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == nullptr) {
    throw Error(Errc::kIo,
                "cannot initialize the seccomp filter (libseccomp refused default "
                "action " +
                    spec.defaultAction + ")");
  }
  ctx_.reset(ctx);
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) failLib(rc, "turn off no_new_privs in the seccomp filter");
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) failLib(rc, "ask for a binary-tree seccomp filter");

  for (size_t i = 0; i < spec.architectures.size(); ++i) {
    uint32_t arch =
        seccompArch(spec.architectures[i], json::index(json::child(path, "architectures"), i));
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      failLib(rc, "add architecture " + spec.architectures[i] + " to the seccomp filter");
    }
  }
  // The same flags loadSeccompProgram passes; libseccomp only records them here.
  flags_ = seccompLoadFlags(spec);
  for (const auto& [flag, attr] :
       {std::pair{SECCOMP_FILTER_FLAG_TSYNC, SCMP_FLTATR_CTL_TSYNC},
        std::pair{SECCOMP_FILTER_FLAG_LOG, SCMP_FLTATR_CTL_LOG},
        std::pair{SECCOMP_FILTER_FLAG_SPEC_ALLOW, SCMP_FLTATR_CTL_SSB}}) {
    if ((flags_ & flag) == 0) continue;
    rc = seccomp_attr_set(ctx, attr, 1);
    if (rc < 0) failLib(rc, "set seccomp filter flag " + std::to_string(flag));
  }

  for (size_t i = 0; i < spec.syscalls.size(); ++i) {
    const oci::SeccompSyscall& sc = spec.syscalls[i];
    std::string scPath = json::index(json::child(path, "syscalls"), i);
    uint32_t action = seccompAction(sc.action, sc.errnoRet, scPath);
    std::vector<scmp_arg_cmp> conds;
    std::map<uint32_t, int> perIndex;
    bool repeated = false;
    for (size_t a = 0; a < sc.args.size(); ++a) {
      const oci::SeccompArg& arg = sc.args[a];
      std::string argPath = json::index(json::child(scPath, "args"), a);
      if (arg.index > 5) json::fail(argPath, "index must be 0 to 5");
      auto op = static_cast<scmp_compare>(seccompOperator(arg.op, argPath));
      conds.push_back({arg.index, op, arg.value, arg.valueTwo.value_or(0)});
      if (++perIndex[arg.index] > 1) repeated = true;
    }
    if (action == def) continue;  // libseccomp refuses a rule that does what the default does
    for (const std::string& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        skipped_.push_back(name);
        continue;
      }
      auto add = [&](unsigned n, const scmp_arg_cmp* c) {
        int r = seccomp_rule_add_array(ctx, action, nr, n, c);
        if (r < 0) failLib(r, "add the seccomp rule for " + name + " (" + scPath + ")");
      };
      if (repeated) {
        for (const scmp_arg_cmp& c : conds) add(1, &c);
      } else {
        add(static_cast<unsigned>(conds.size()), conds.data());
      }
    }
  }
}

void SeccompFilter::Release::operator()(void* ctx) const {
  seccomp_release(static_cast<scmp_filter_ctx>(ctx));
}

SeccompFilter::~SeccompFilter() = default;

namespace {

// What libseccomp wrote into a memfd.
std::string exported(const char* name, int (*exportTo)(const scmp_filter_ctx, int), void* ctx) {
  UniqueFd fd(memfd_create(name, MFD_CLOEXEC));
  if (!fd) throwErrno("create a memfd for the seccomp filter");
  int rc = exportTo(static_cast<scmp_filter_ctx>(ctx), fd.get());
  if (rc < 0) failLib(rc, "export the seccomp filter");
  std::string out;
  char buf[4096];
  if (lseek(fd.get(), 0, SEEK_SET) != 0) throwErrno("rewind the exported seccomp filter");
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) throwErrno("read the exported seccomp filter");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

SeccompProgram SeccompFilter::program() const {
  std::string bpf = exported("seccomp-bpf", seccomp_export_bpf, ctx_.get());
  if (bpf.empty() || bpf.size() % sizeof(sock_filter) != 0) {
    throw Error(Errc::kIo, "libseccomp exported a filter of " + std::to_string(bpf.size()) +
                               " bytes, not whole BPF instructions");
  }
  SeccompProgram p;
  p.instructions.resize(bpf.size() / sizeof(sock_filter));
  std::memcpy(p.instructions.data(), bpf.data(), bpf.size());
  p.flags = flags_;
  p.skipped = skipped_;
  return p;
}

std::string SeccompFilter::exportPfc() const {
  return exported("seccomp-pfc", seccomp_export_pfc, ctx_.get());
}

unsigned seccompLoadFlags(const oci::Seccomp& spec) {
  unsigned flags = 0;
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    const std::string& f = spec.flags[i];
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      flags |= SECCOMP_FILTER_FLAG_TSYNC;
    } else if (f == "SECCOMP_FILTER_FLAG_LOG") {
      flags |= SECCOMP_FILTER_FLAG_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else {
      throw Error(Errc::kUnsupported, json::index("linux.seccomp.flags", i) + ": " + f +
                                          " is not supported by ferry's libseccomp");
    }
  }
  return flags;
}

void loadSeccompProgram(const SeccompProgram& p) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(p.instructions.size());
  prog.filter = const_cast<sock_filter*>(p.instructions.data());
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &prog);
  if (rc > 0) {
    // TSYNC: the id of a thread that could not take the filter (libseccomp: -ESRCH).
    throw Error(Errc::kIo, "cannot load the seccomp filter: thread " + std::to_string(rc) +
                               " could not be synchronized");
  }
  if (rc < 0) throwErrno("load the seccomp filter");
}

// --- the cache file

namespace {

constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'B', 'P', 'F'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kMaxInstructions = BPF_MAXINSNS;
constexpr size_t kMaxNames = 64 << 10;
constexpr size_t kMaxFile = kSeccompCacheHeaderSize + kMaxNames + kMaxInstructions * 8;

// Header layout: magic[8] version u32, count u32, namesLength u32, reserved u32, key[32],
// bodyDigest[32].
struct Header {
  uint32_t version = 0;
  uint32_t count = 0;
  uint32_t namesLength = 0;
  SeccompKey key{};
  Sha256::Bytes digest{};
};

uint32_t u32At(std::string_view b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

void putU32(std::string& out, uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::optional<Header> parseHeader(std::string_view b) {
  if (b.size() < kSeccompCacheHeaderSize || std::memcmp(b.data(), kMagic, 8) != 0) {
    return std::nullopt;
  }
  Header h;
  h.version = u32At(b, 8);
  h.count = u32At(b, 12);
  h.namesLength = u32At(b, 16);
  std::memcpy(h.key.data(), b.data() + 24, 32);
  std::memcpy(h.digest.data(), b.data() + 56, 32);
  return h;
}

uint64_t expectedSize(const Header& h) {
  return kSeccompCacheHeaderSize + uint64_t{h.namesLength} + uint64_t{h.count} * 8;
}

bool plausible(const Header& h) {
  return h.version == kFormatVersion && h.count >= 1 && h.count <= kMaxInstructions &&
         h.namesLength <= kMaxNames;
}

}  // namespace

std::string seccompCanonicalText(const oci::Seccomp& spec) {
  oci::RuntimeSpec holder;
  holder.linuxConfig.emplace();
  holder.linuxConfig->seccomp = spec;
  return json::dump(holder.toJson().at("linux").at("seccomp"));
}

SeccompKey seccompCacheKey(const oci::Seccomp& spec) {
  const scmp_version* v = seccomp_version();
  struct utsname u {};
  if (::uname(&u) != 0) throwErrno("read the kernel release");
  std::string head = "ferry seccomp.bpf " + std::to_string(kFormatVersion) + "\ncompiler " +
                     std::to_string(kSeccompCompilerRevision) + "\nlibseccomp " +
                     std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                     std::to_string(v->micro) + "\narch " + std::to_string(seccomp_arch_native()) +
                     "\nkernel " + u.release + "\n";
  Sha256 h;
  h.update(head);
  h.update(seccompCanonicalText(spec));
  return h.finish();
}

std::string encodeSeccompCache(const SeccompKey& key, const SeccompProgram& p) {
  if (p.instructions.empty() || p.instructions.size() > kMaxInstructions) {
    throw Error(Errc::kLimit, "cannot store a seccomp filter of " +
                                  std::to_string(p.instructions.size()) + " instructions");
  }
  std::string body;
  for (const std::string& n : p.skipped) body += n + '\n';
  if (body.size() > kMaxNames) {
    throw Error(Errc::kLimit, "cannot store a seccomp filter: too many skipped syscall names");
  }
  size_t namesLength = body.size();
  body.append(reinterpret_cast<const char*>(p.instructions.data()),
              p.instructions.size() * sizeof(sock_filter));
  std::string out(kMagic, sizeof kMagic);
  putU32(out, kFormatVersion);
  putU32(out, static_cast<uint32_t>(p.instructions.size()));
  putU32(out, static_cast<uint32_t>(namesLength));
  putU32(out, 0);
  out.append(reinterpret_cast<const char*>(key.data()), key.size());
  Sha256::Bytes digest = Sha256::of(body);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out + body;
}

bool seccompCacheHeaderMatches(std::string_view head, uint64_t size, const SeccompKey& key) {
  std::optional<Header> h = parseHeader(head);
  return h && plausible(*h) && h->key == key && expectedSize(*h) == size;
}

std::optional<SeccompProgram> decodeSeccompCache(std::string_view b, const SeccompKey& key,
                                                 std::string& why) {
  std::optional<Header> h = parseHeader(b);
  if (!h) {
    why = "not a compiled filter (too short or another magic)";
    return std::nullopt;
  }
  if (!plausible(*h)) {
    why = "format version " + std::to_string(h->version) + ", " + std::to_string(h->count) +
          " instructions, " + std::to_string(h->namesLength) + " bytes of names: not ours";
    return std::nullopt;
  }
  if (expectedSize(*h) != b.size()) {
    why = std::to_string(b.size()) + " bytes where the header says " +
          std::to_string(expectedSize(*h));
    return std::nullopt;
  }
  if (h->key != key) {
    why = "compiled for another filter (key " + toHex(h->key).substr(0, 12) + "...)";
    return std::nullopt;
  }
  std::string_view body = b.substr(kSeccompCacheHeaderSize);
  if (Sha256::of(body) != h->digest) {
    why = "its body does not match its checksum";
    return std::nullopt;
  }
  SeccompProgram p;
  std::string_view names = body.substr(0, h->namesLength);
  while (!names.empty()) {
    size_t nl = names.find('\n');
    if (nl == std::string_view::npos) {
      why = "its skipped names do not end with a newline";
      return std::nullopt;
    }
    p.skipped.emplace_back(names.substr(0, nl));
    names.remove_prefix(nl + 1);
  }
  p.instructions.resize(h->count);
  std::memcpy(p.instructions.data(), body.data() + h->namesLength, size_t{h->count} * 8);
  return p;
}

std::optional<std::string> readSeccompCacheFile(const std::filesystem::path& file,
                                                std::string& why) {
  // Its directory first: only root may have put a file there. (In a user namespace a file of
  // the namespace's root reads as uid 0; the bundle's directory, host root's, does not.)
  std::filesystem::path parent = file.has_parent_path() ? file.parent_path() : ".";
  UniqueFd dir(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat ds;
  if (!dir || ::fstat(dir.get(), &ds) != 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  if (ds.st_uid != 0 || (ds.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    why = "its directory is not root's alone to write";
    return std::nullopt;
  }
  UniqueFd fd(::openat(dir.get(), file.filename().c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    why = errno == ELOOP ? "a symlink" : std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + quote(file.string()));
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    why = "not a regular file owned and writable by root alone";
    return std::nullopt;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFile) {
    why = std::to_string(st.st_size) + " bytes, larger than any compiled filter";
    return std::nullopt;
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  bytes.resize(readFull(fd.get(), bytes.data(), bytes.size(), file.string()));
  return bytes;
}

SeccompProgram seccompProgramFor(const oci::Seccomp& spec,
                                 const std::optional<std::filesystem::path>& cacheFile,
                                 bool* fromCache, std::string* why) {
  std::string reason = "no file";
  if (cacheFile) {
    std::optional<std::string> bytes = readSeccompCacheFile(*cacheFile, reason);
    if (bytes) {
      // The flags first: an unsupported one fails as it would compiled.
      unsigned flags = seccompLoadFlags(spec);
      if (std::optional<SeccompProgram> p =
              decodeSeccompCache(*bytes, seccompCacheKey(spec), reason)) {
        p->flags = flags;
        if (fromCache) *fromCache = true;
        return std::move(*p);
      }
    }
  }
  if (fromCache) *fromCache = false;
  if (why) *why = reason;
  return SeccompFilter(spec).program();
}

}  // namespace ferry::stage2
