#include "stage2/seccomp_filter.hpp"

#include <seccomp.h>
#include <sys/mman.h>
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

  for (size_t i = 0; i < spec.architectures.size(); ++i) {
    uint32_t arch =
        seccompArch(spec.architectures[i], json::index(json::child(path, "architectures"), i));
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      failLib(rc, "add architecture " + spec.architectures[i] + " to the seccomp filter");
    }
  }
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    const std::string& f = spec.flags[i];
    enum scmp_filter_attr attr;
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      attr = SCMP_FLTATR_CTL_TSYNC;
    } else if (f == "SECCOMP_FILTER_FLAG_LOG") {
      attr = SCMP_FLTATR_CTL_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      attr = SCMP_FLTATR_CTL_SSB;
    } else {
      throw Error(Errc::kUnsupported, json::index(json::child(path, "flags"), i) + ": " + f +
                                          " is not supported by ferry's libseccomp");
    }
    rc = seccomp_attr_set(ctx, attr, 1);
    if (rc < 0) failLib(rc, "set " + f + " on the seccomp filter");
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

void SeccompFilter::load() {
  int rc = seccomp_load(static_cast<scmp_filter_ctx>(ctx_.get()));
  if (rc < 0) failLib(rc, "load the seccomp filter");
}

std::string SeccompFilter::exportPfc() const {
  UniqueFd fd(memfd_create("seccomp-pfc", MFD_CLOEXEC));
  if (!fd) throwErrno("create a memfd for the seccomp filter text");
  int rc = seccomp_export_pfc(static_cast<scmp_filter_ctx>(ctx_.get()), fd.get());
  if (rc < 0) failLib(rc, "export the seccomp filter");
  std::string out;
  char buf[4096];
  if (lseek(fd.get(), 0, SEEK_SET) != 0) throwErrno("rewind the seccomp filter text");
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) throwErrno("read the seccomp filter text");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace ferry::stage2
