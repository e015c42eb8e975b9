// docker:// images from a registry (distribution API v2): the manifest (an index resolved to
// this host's platform), the config and the layers — fetched in parallel, each verified while
// it streams and committed to the store only once its digest matched.
#include "stage0/fetch/docker_fetcher.hpp"

#include <cstdlib>

#include "common/error.hpp"
#include "discovery/auth.hpp"
#include "discovery/http.hpp"
#include "discovery/reference.hpp"
#include "discovery/registry_client.hpp"
#include "formats/oci/media_types.hpp"
#include "stage0/fetch/progress.hpp"

namespace ferry::fetch {

namespace {

http::ClientOptions httpOptions(const FetchOptions& o) {
  http::ClientOptions h;
  h.verifyTls = !o.insecureTls;
  h.allowHttp = o.insecureHttp;
  // A CA bundle of the operator's (a private registry's CA), as OpenSSL tools read it.
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca != nullptr && *ca != '\0') h.caFile = ca;
  return h;
}

class DockerFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<DockerArg>(arg);
  }

  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    auto ref = registry::DockerReference::parse(std::get<DockerArg>(arg).ref);
    http::Client client(httpOptions(ctx.options));
    registry::RegistryOptions ro;
    ro.scheme = ctx.options.insecureHttp ? registry::Scheme::kAuto : registry::Scheme::kHttps;
    registry::RegistryClient rc(client, registry::Credentials::loadDefault(ctx.options.dataDir),
                                ro);
    registry::ResolvedManifest m = rc.resolve(ref);
    std::string what = ref.str();

    // Layers the store lacks, downloaded in parallel; writers are made here (the store is
    // single-threaded), fed and committed by the download workers.
    std::vector<oci::Descriptor> missing;
    for (const auto& l : m.manifest.layers) {
      if (!oci::isLayer(l.mediaType)) {
        throw Error(Errc::kUnsupported, "cannot fetch " + what + ": layer " + l.digest.str() +
                                            " has media type " + quote(l.mediaType));
      }
      if (!ctx.store.hasBlob(l.digest)) missing.push_back(l);
    }
    std::vector<std::optional<store::BlobWriter>> writers;
    writers.reserve(missing.size());
    for (size_t i = 0; i < missing.size(); ++i) {
      writers.emplace_back(ctx.store.newBlob("layer " + missing[i].digest.str() + " of " + what,
                                             missing[i].digest.algorithm(), missing[i].digest,
                                             missing[i].size));
    }
    Progress progress;
    std::vector<Progress::Handle> bars;
    for (const auto& l : missing) {
      bars.push_back(progress.start(l.digest.str().substr(0, 19), static_cast<uint64_t>(l.size)));
    }
    rc.fetchBlobs(
        ref, missing,
        [&writers, &bars](size_t i, const oci::Descriptor&) {
          registry::BlobTarget t;
          t.sink = [&writers, i](const char* data, size_t size) { writers[i]->write(data, size); };
          t.finish = [&writers, &bars, i] {
            writers[i]->commit();
            bars[i].finish();
          };
          return t;
        },
        4, [&bars](size_t i, uint64_t done, uint64_t) { bars[i].update(done); });

    ctx.store.putBlob(m.configBytes, "config of " + what, m.manifest.config.digest.algorithm());
    ctx.store.putBlob(m.bytes, "manifest of " + what, m.digest.algorithm());
    store::ImageRecord r;
    r.id = m.digest.str();
    r.kind = store::ImageKind::kOci;
    r.name = ref.name();
    if (ref.tag()) r.tags.push_back(*ref.tag());
    r.blobs.push_back(
        {store::BlobRole::kManifest, m.digest, static_cast<int64_t>(m.bytes.size()), m.mediaType});
    r.blobs.push_back({store::BlobRole::kConfig, m.manifest.config.digest, m.manifest.config.size,
                       m.manifest.config.mediaType});
    for (const auto& l : m.manifest.layers) {
      r.blobs.push_back({store::BlobRole::kLayer, l.digest, l.size, l.mediaType});
    }
    return ctx.store.addImage(std::move(r)).id;
  }
};

}  // namespace

void addDockerFetcher(std::vector<std::unique_ptr<Fetcher>>& out) {
  out.push_back(std::make_unique<DockerFetcher>());
}

}  // namespace ferry::fetch
