#include "stage0/fetch/appc_session.hpp"

#include <fcntl.h>

#include <chrono>
#include <optional>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "discovery/appc_discovery.hpp"
#include "discovery/http.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/appc/os_arch.hpp"
#include "formats/archive/aci.hpp"
#include "stage0/fetch/progress.hpp"
#include "stage0/trust/trust_store.hpp"

namespace ferry::fetch {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxSignatureSize = 1 << 20;

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is2xx(long status) { return status >= 200 && status < 300; }

// The last path segment of a URL, for the progress display.
std::string displayName(const std::string& url) {
  std::string_view path(url);
  path = path.substr(0, path.find_first_of("?#"));
  size_t slash = path.rfind('/');
  std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return std::string(last.empty() ? path : last);
}

// An ACI on disk, ready to be checked.
struct Source {
  std::string what;  // the URL or path, for messages
  fs::path file;
  std::optional<std::string> signature;  // armored; nullopt with --insecure-options=image
  std::optional<store::Remote> remote;   // recorded once the image is committed
  UniqueFd fd = {};                      // when set, the file is read from here (not `file`)
};

// A checked ACI whose blobs await commit(): the uncompressed tar (named by the image ID) and
// the file as fetched (for a byte-identical export; the tar itself when it is not compressed).
struct Pending {
  std::string id;
  appc::ImageManifest manifest;
  std::string manifestJson;
  store::BlobWriter blob;
  store::BlobWriter original;
  bool compressed = false;
};

bool labelsCover(const appc::Labels& want, const appc::Labels& have) {
  for (const auto& l : want) {
    auto v = have.get(l.name.str());
    if (!v || *v != l.value) return false;
  }
  return true;
}

std::string cyclePath(const std::vector<DependencyLink>& chain, size_t from,
                      const std::string& again) {
  std::string out;
  for (size_t i = from; i < chain.size(); ++i) out += chain[i].name + " -> ";
  return out + again;
}

// What discovery needs to find a dependency: its labels plus the host's os and arch where the
// manifest leaves them out (templates usually spell {os} and {arch}); the image found must only
// carry the labels the manifest lists.
discovery::AppcImageRef withHostPlatform(discovery::AppcImageRef ref) {
  appc::OciPlatform host = discovery::hostPlatform();
  if (!ref.labels.get("os")) {
    if (auto own = appc::fromOciPlatform(host.os, host.architecture, host.variant)) {
      ref.labels.add(appc::AcIdentifier::parse("os"), own->os);
    }
  }
  auto os = ref.labels.get("os");
  if (os && !ref.labels.get("arch")) {
    if (auto own = appc::fromOciPlatform(*os, host.architecture, host.variant)) {
      ref.labels.add(appc::AcIdentifier::parse("arch"), own->arch);
    }
  }
  return ref;
}

}  // namespace

std::optional<std::string> dependencyCycle(const std::vector<DependencyLink>& chain,
                                           const appc::Dependency& dep) {
  std::string name = dep.imageName.str();
  for (size_t i = 0; i < chain.size(); ++i) {
    bool same = chain[i].name == name && (dep.imageID ? chain[i].id == dep.imageID->str()
                                                      : labelsCover(dep.labels, chain[i].labels));
    if (same) return cyclePath(chain, i, name);
  }
  return std::nullopt;
}

struct AppcSession::Impl {
  FetchContext& ctx;
  http::Client client;
  std::optional<TempDir> scratch;
  int downloads = 0;
  std::vector<std::unique_ptr<Pending>> pending;  // dependencies before their dependents
  std::vector<store::Remote> remotes;
  std::vector<DependencyLink> chain;
  Progress progress;  // one display for the session's downloads

  explicit Impl(FetchContext& c) : ctx(c), client(clientOptions(c.options)) {}

  const fs::path& scratchDir() {
    if (!scratch) {
      // Under the store's tmp/: the fetch holds the store's lock shared, so gc (exclusive)
      // never removes a download in progress, and removes what a killed fetch left.
      fs::path parent = ctx.store.casDir() / "tmp";
      fs::create_directories(parent);
      scratch.emplace(parent, "fetch-");
    }
    return scratch->path();
  }

  // The stored image's ID when the store's copy of `aciUrl` may be used (a fresh Cache-Control,
  // or 304 to a conditional GET); otherwise the downloaded ACI and its signature.
  using Obtained = std::variant<std::string, Source>;

  // `signature`: a local file holding the signature, else it is downloaded from ascUrl.
  Obtained download(const std::string& aciUrl, const std::string& ascUrl,
                    const fs::path& signature = {}) {
    std::optional<store::Remote> known = ctx.store.remote(aciUrl);
    if (known && !ctx.store.findImage(known->imageId)) known.reset();
    int64_t now = unixNow();
    if (known && known->fresh(now)) return known->imageId;

    http::Request request;
    request.url = aciUrl;
    if (known && !known->etag.empty()) request.headers.emplace_back("If-None-Match", known->etag);
    fs::path file = scratchDir() / ("image-" + std::to_string(downloads++) + ".aci");
    UniqueFd fd = openFile(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    // The display starts with the body of a 2xx answer (a 304 downloads nothing).
    std::optional<Progress::Handle> bar;
    http::Response response = client.stream(
        request,
        [&fd, &file](const char* data, size_t size) {
          writeAll(fd.get(), data, size, file.string());
        },
        [&](uint64_t done, std::optional<uint64_t> total) {
          if (!bar) bar = progress.start(displayName(aciUrl), total);
          bar->update(done);
        });
    if (bar && is2xx(response.status)) bar->finish();
    store::Remote remote;
    remote.url = aciUrl;
    remote.etag = response.header("ETag").value_or("");
    if (auto cc = response.header("Cache-Control"))
      remote.cacheMaxAgeSeconds = http::cacheMaxAge(*cc);
    remote.fetchedAt = now;
    if (response.status == 304 && known) {
      remote.imageId = known->imageId;
      if (remote.etag.empty()) remote.etag = known->etag;
      remotes.push_back(remote);
      return known->imageId;
    }
    if (!is2xx(response.status)) {
      throw Error(response.status == 404 ? Errc::kNotFound : Errc::kIo,
                  describeStatus(ctx.options, request, response));
    }
    Source src{aciUrl, file, std::nullopt, remote};
    if (!ctx.options.insecureImage) {
      src.signature =
          signature.empty() ? downloadSignature(ascUrl) : readFile(signature, kMaxSignatureSize);
    }
    return src;
  }

  std::string downloadSignature(const std::string& ascUrl) {
    http::Request request;
    request.url = ascUrl;
    request.maxBodySize = kMaxSignatureSize;
    http::Response response = client.get(request);
    if (!is2xx(response.status)) {
      throw Error(Errc::kSecurity,
                  "no signature: " + describeStatus(ctx.options, request, response) +
                      " (use --insecure-options=image to fetch it unsigned)");
    }
    return response.body;
  }

  bool isPending(const std::string& id) const {
    for (const auto& p : pending) {
      if (p->id == id) return true;
    }
    return false;
  }

  bool pendingMatches(const std::string& name, const appc::Labels& labels) const {
    for (const auto& p : pending) {
      if (p->manifest.name.str() == name && labelsCover(labels, p->manifest.labels)) return true;
    }
    return false;
  }

  // Checks an ACI (structure, signature, and for a discovered image the name and labels asked
  // for in `match`), walks its dependencies and queues it. Returns its ID.
  std::string take(Source src, const discovery::AppcImageRef* match) {
    trust::TrustStore trust(ctx.options.dataDir);
    if (match != nullptr && src.signature) {
      trust.verify(match->name.str(), src.file, *src.signature);
    }
    // One pass: the uncompressed tar goes into an uncommitted blob under its sha512 (the image
    // ID) while readAci checks the structure and finds the manifest.
    store::BlobWriter blob = ctx.store.newBlob("ACI " + quote(src.what), DigestAlgorithm::kSha512);
    store::BlobWriter original =
        ctx.store.newBlob("ACI file " + quote(src.what), DigestAlgorithm::kSha512);
    archive::ReaderOptions ro;
    ro.uncompressedDigest = DigestAlgorithm::kSha512;
    ro.uncompressedTee = [&blob](const void* data, size_t size) { blob.write(data, size); };
    ro.compressedTee = [&original](const void* data, size_t size) { original.write(data, size); };
    struct : archive::AciVisitor {
      void manifest(const std::string&) override {}
      void entry(const archive::Entry&, archive::Reader&) override {}
    } visitor;
    // Messages name the URL or path the user knows, not the download's temp file.
    archive::Reader reader(src.fd ? std::move(src.fd) : openFile(src.file, O_RDONLY), src.what, ro);
    archive::AciInfo info = archive::readAci(reader, visitor);
    auto manifest = appc::ImageManifest::parse(info.manifest, "manifest of " + quote(src.what));
    if (match != nullptr) {
      discovery::checkManifestMatches(*match, manifest.name, manifest.labels);
    } else if (src.signature) {
      trust.verify(manifest.name.str(), src.file, *src.signature);
    }
    for (size_t i = 0; i < chain.size(); ++i) {
      if (chain[i].id == info.imageId) {
        throw Error(Errc::kInvalid, "dependency cycle: " + cyclePath(chain, i, chain[i].name));
      }
    }
    if (src.remote) {
      src.remote->imageId = info.imageId;
      remotes.push_back(*src.remote);
    }
    if (isPending(info.imageId)) return info.imageId;
    chain.push_back({info.imageId, manifest.name.str(), manifest.labels});
    for (const auto& dep : manifest.dependencies) resolveDependency(dep);
    chain.pop_back();
    bool compressed = info.read.compression != archive::Compression::kNone;
    pending.push_back(std::unique_ptr<Pending>(
        new Pending{info.imageId, std::move(manifest), std::move(info.manifest), std::move(blob),
                    std::move(original), compressed}));
    return pending.back()->id;
  }

  void resolveDependency(const appc::Dependency& dep) {
    std::string parent = chain.back().name;
    std::string name = dep.imageName.str();
    if (auto cycle = dependencyCycle(chain, dep)) {
      throw Error(Errc::kInvalid, "dependency cycle: " + *cycle);
    }
    if (chain.size() >= kMaxDependencyDepth) {
      throw Error(Errc::kLimit, "dependency " + quote(name) + " of " + quote(parent) +
                                    ": dependencies nest deeper than " +
                                    std::to_string(kMaxDependencyDepth) + " levels");
    }
    if (dep.imageID) {
      std::string id = dep.imageID->str();
      if (isPending(id)) return;
      if (auto r = ctx.store.findImage(id); r && r->id == id) return;
    } else if (ctx.options.policy != PullPolicy::kUpdate) {
      if (pendingMatches(name, dep.labels)) return;
      store::NameQuery q{name, {}, {}};
      for (const auto& l : dep.labels) q.labels.emplace_back(l.name.str(), l.value);
      if (ctx.store.findByName(q)) return;
    }
    discovery::AppcImageRef match{dep.imageName, dep.labels};
    discovery::AppcImageRef ref = withHostPlatform(match);
    try {
      std::string id = fetchDiscovered(ref, match);
      if (dep.imageID && id != dep.imageID->str()) {
        throw Error(Errc::kDigestMismatch, "the image found has ID " + id +
                                               ", the manifest asks for " + dep.imageID->str());
      }
    } catch (const Error& e) {
      if (std::string_view(e.what()).starts_with("dependency ")) throw;
      throw Error(e.code(),
                  "dependency " + quote(ref.str()) + " of " + quote(parent) + ": " + e.what());
    }
  }

  // `signature`: the operator's file (--signature) instead of each endpoint's signature URL.
  std::string fetchDiscovered(const discovery::AppcImageRef& ref,
                              const discovery::AppcImageRef& match,
                              const fs::path& signature = {}) {
    discovery::DiscoverOptions d;
    d.insecureHttp = ctx.options.insecureHttp;
    discovery::DiscoveryResult found = discovery::discover(ref, client, d);
    // Mirrors: the next endpoint is tried when a download fails; a check that fails is final.
    std::optional<Error> first;
    for (const auto& endpoint : found.endpoints) {
      Obtained got;
      try {
        got = download(endpoint.aci, endpoint.asc, signature);
      } catch (const Error& e) {
        if (!first) first = e;
        continue;
      }
      if (auto* id = std::get_if<std::string>(&got)) return *id;
      return take(std::move(std::get<Source>(got)), &match);
    }
    throw *first;  // discover() returns at least one endpoint
  }

  // Moves every queued blob into the store, then records the images and the remotes.
  void commit() {
    for (auto& p : pending) {
      oci::BlobInfo stored = p->blob.commit();
      // An uncompressed ACI is its own tar: the second writer's temp file just goes.
      oci::BlobInfo file = p->compressed ? p->original.commit() : stored;
      store::ImageRecord r;
      r.id = p->id;
      r.kind = store::ImageKind::kAci;
      r.name = p->manifest.name.str();
      for (const auto& l : p->manifest.labels) r.labels.emplace_back(l.name.str(), l.value);
      r.blobs.push_back({store::BlobRole::kAci, stored.digest, stored.size, ""});
      r.blobs.push_back({store::BlobRole::kOriginal, file.digest, file.size, ""});
      r.appcManifest = p->manifestJson;
      ctx.store.addImage(std::move(r));
    }
    pending.clear();
    for (const auto& r : remotes) ctx.store.setRemote(r);
    remotes.clear();
  }
};

AppcSession::AppcSession(FetchContext& ctx) : impl_(std::make_unique<Impl>(ctx)) {}

AppcSession::~AppcSession() = default;

std::string AppcSession::fetchByName(const discovery::AppcImageRef& ref) {
  // --signature: for the image named, not its dependencies.
  std::string id = impl_->fetchDiscovered(ref, ref, impl_->ctx.options.signature);
  impl_->commit();
  return id;
}

std::string AppcSession::fetchByUrl(const std::string& url) {
  // --signature: the operator's file instead of URL.asc (for this image, not its dependencies).
  Impl::Obtained got = impl_->download(url, url + ".asc", impl_->ctx.options.signature);
  std::string id = std::holds_alternative<std::string>(got)
                       ? std::get<std::string>(got)
                       : impl_->take(std::move(std::get<Source>(got)), nullptr);
  impl_->commit();
  return id;
}

std::string AppcSession::fetchLocal(const fs::path& path, UniqueFd fd) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw Error(Errc::kNotFound, "cannot fetch " + quote(path.string()) + ": no such file");
  }
  Source src{path.string(), path, std::nullopt, std::nullopt};
  src.fd = std::move(fd);
  if (!impl_->ctx.options.insecureImage) {
    fs::path asc = impl_->ctx.options.signature.empty() ? fs::path(path.string() + ".asc")
                                                        : impl_->ctx.options.signature;
    if (!fs::is_regular_file(asc, ec)) {
      throw Error(Errc::kSecurity, "cannot fetch " + quote(path.string()) + ": no signature " +
                                       quote(asc.string()) +
                                       " (use --insecure-options=image to fetch it unsigned)");
    }
    src.signature = readFile(asc, kMaxSignatureSize);
  }
  std::string id = impl_->take(std::move(src), nullptr);
  impl_->commit();
  return id;
}

}  // namespace ferry::fetch
