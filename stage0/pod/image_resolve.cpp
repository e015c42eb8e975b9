#include "stage0/pod/image_resolve.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <variant>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "discovery/reference.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/translate/app_runtime.hpp"
#include "formats/translate/keys.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "stage0/fetch/fetch.hpp"

namespace ferry::pod {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> keptStopSignal(const appc::ImageManifest& m, const std::string& id) {
  auto kept = m.annotations.get(translate::keys::kOciConfig);
  if (!kept) return std::nullopt;
  std::string what =
      "image " + id + " annotations[" + std::string(translate::keys::kOciConfig) + "]";
  json::Json j = json::parse(*kept, what);
  if (!j.is_object() || !j.contains("StopSignal")) return std::nullopt;
  if (!j["StopSignal"].is_string()) throw Error(Errc::kInvalid, what + ".StopSignal: not a string");
  return j["StopSignal"].get<std::string>();
}

// The image's name as an AC Identifier for the translation, best effort.
std::string identifierFor(const std::string& n) {
  std::string out;
  for (char c : n) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '.' || l == '/' || l == '-' ||
            l == '_' || l == '~')
               ? l
               : '-';
  }
  if (out.empty() || !appc::AcIdentifier::isValid(out)) return "image";
  return out;
}

// The OCI Env entries an ACI's environment could not hold, kept by the translation in the
// image's annotation dev.ferry.oci.env: a later value of a name (Docker lets the last one win)
// and names appc refuses ("spring.profiles.active"). At run they apply as OCI says.
struct OciEnvExtras {
  std::vector<std::pair<std::string, std::string>> laterValues;  // valid names: set in order
  json::Json otherNames = json::Json::array();                   // "NAME=VALUE" strings
};

OciEnvExtras ociEnvExtras(const ResolvedImage& img) {
  OciEnvExtras out;
  auto kept = img.manifest.annotations.get(translate::keys::kOciEnv);
  if (!kept) return out;
  std::string what =
      "image " + img.record.id + " annotations[" + std::string(translate::keys::kOciEnv) + "]";
  json::Json j = json::parse(*kept, what);
  if (!j.is_array()) throw Error(Errc::kInvalid, what + ": not an array");
  for (const auto& e : j) {
    if (!e.is_string()) throw Error(Errc::kInvalid, what + ": not an array of strings");
    std::string entry = e.get<std::string>();
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;  // no value: nothing to set (as runc)
    std::string name = entry.substr(0, eq);
    if (appc::isValidEnvironmentName(name)) {
      out.laterValues.emplace_back(name, entry.substr(eq + 1));
    } else {
      out.otherNames.push_back(entry);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> readInTree(const std::string& tree, const char* rel) {
  UniqueFd root(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throwErrno("open " + quote(tree));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), rel, &how, sizeof how)));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (st.st_size > (4 << 20)) {
    throw Error(Errc::kLimit, "cannot read " + quote(tree + "/" + rel) + ": larger than 4 MiB");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throwErrno("read " + quote(tree + "/" + rel));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

store::ImageName chosenName(const store::ImageRecord& r, const std::string& typed) {
  std::optional<store::ImageName> want;
  if (!typed.empty()) {
    try {
      fetch::ImageArg arg = fetch::parseImageArg(typed);
      if (const auto* d = std::get_if<fetch::DockerArg>(&arg)) {
        auto ref = registry::DockerReference::parse(d->ref);
        want = store::ImageName{ref.name(), ref.tag().value_or("")};
      } else if (const auto* o = std::get_if<fetch::OciLayoutArg>(&arg)) {
        want = store::ImageName{"oci:" + fs::absolute(o->dir).lexically_normal().string(),
                                o->ref.value_or("")};
      }
    } catch (const Error&) {
      // an ID or a name only the fetchers understand: the newest name
    }
  }
  const store::ImageName* best = nullptr;
  for (const auto& n : r.names) {
    if (want && n.name == want->name && (want->tag.empty() || n.tag == want->tag)) best = &n;
  }
  if (best == nullptr && !r.names.empty()) best = &r.names.back();
  if (best == nullptr) return {r.name, r.tags.empty() ? "" : r.tags.front()};
  // An untagged entry of a name that has tags: the newest tag of that name.
  if (best->tag.empty()) {
    for (const auto& n : r.names) {
      if (n.name == best->name && !n.tag.empty()) best = &n;
    }
  }
  return *best;
}

ResolvedImage resolveImage(store::Store& store, const std::string& imageId, translate::Report& rep,
                           const std::string& appPath, const std::string& typed) {
  auto rec = store.findImage(imageId);
  if (!rec) throw Error(Errc::kNotFound, "no image " + quote(imageId) + " in the store");
  // image list's LAST USED (at most once a minute: no index write on most starts).
  if (rec->lastUsedAt + 60 < static_cast<int64_t>(std::time(nullptr))) store.touch(rec->id);
  std::string tree = store.renderTree(rec->id).rootfs.string();
  if (rec->kind == store::ImageKind::kAci) {
    auto manifest = appc::ImageManifest::parse(rec->appcManifest, "manifest of image " + rec->id);
    auto stop = keptStopSignal(manifest, rec->id);
    return ResolvedImage{*rec, tree, std::move(manifest), appc::ImageId::parse(rec->id), stop};
  }
  // OCI: the ACI translation of its config gives the app section (DESIGN §1: translators).
  std::string manifestText, configText;
  for (const auto& b : rec->blobs) {
    if (b.role == store::BlobRole::kManifest)
      manifestText = store.openBlob(b.digest).readAll(4 << 20);
    if (b.role == store::BlobRole::kConfig) configText = store.openBlob(b.digest).readAll(16 << 20);
  }
  if (configText.empty()) throw Error(Errc::kNotFound, "image " + rec->id + " has no config");
  oci::ImageConfig config = oci::ImageConfig::parse(configText, "config of image " + rec->id);
  translate::AciIdentity id;
  store::ImageName shown = chosenName(*rec, typed);
  id.name = identifierFor(shown.name);
  if (!shown.tag.empty()) id.version = shown.tag;
  translate::UserDatabase users;
  users.passwd = readInTree(tree, "etc/passwd");
  users.group = readInTree(tree, "etc/group");
  translate::Report r;
  appc::ImageManifest manifest = translate::ociToAci(config, id, users, r);
  for (const auto& l : r.items()) {
    // Only what changes how the app runs matters here (not history, labels, …). The image's
    // Env and StopSignal apply as OCI says (ociEnvExtras, stopSignal); other fields of its
    // config that an ACI keeps in an annotation do not apply at all.
    if (!l.field.starts_with("config.") || l.field.starts_with("config.Env[") ||
        l.field == "config.StopSignal") {
      continue;
    }
    std::string field = appPath + ".image(" + rec->id + ")." + l.field;
    if (l.kind != translate::LossKind::kAnnotation) {
      rep.add(field, l.kind, l.detail);
    } else if (l.field.find('[') == std::string::npos) {
      rep.dropped(field, "ferry run does not apply it");  // a whole field kept aside
    }
  }
  // appc image IDs are sha512 of the image: for an OCI image, of its manifest (which pins
  // every layer and the config by digest). The store's ID is in runtime.json.
  return ResolvedImage{
      *rec, tree, std::move(manifest),
      appc::ImageId::fromDigest(Digest::of(DigestAlgorithm::kSha512, manifestText)),
      config.config ? config.config->stopSignal : std::nullopt};
}

std::optional<std::string> findOciByPodId(const store::Store& store, const appc::ImageId& id) {
  if (store.findImage(id.str())) return std::nullopt;
  for (const auto& rec : store.listImages()) {
    if (rec.kind != store::ImageKind::kOci) continue;
    for (const auto& b : rec.blobs) {
      if (b.role != store::BlobRole::kManifest) continue;
      std::string text = store.openBlob(b.digest).readAll(4 << 20);
      if (appc::ImageId::fromDigest(Digest::of(DigestAlgorithm::kSha512, text)) == id)
        return rec.id;
    }
  }
  return std::nullopt;
}

void applyOciEnv(const ResolvedImage& img, appc::App& app, appc::RuntimeApp& ra) {
  OciEnvExtras x = ociEnvExtras(img);
  for (const auto& [n, v] : x.laterValues) app.environment.set(n, v);
  if (!x.otherNames.empty()) {
    ra.annotations.set(appc::AcIdentifier::parse(translate::runtime_keys::kExtraEnvironment),
                       x.otherNames.dump());
  }
}

}  // namespace ferry::pod
