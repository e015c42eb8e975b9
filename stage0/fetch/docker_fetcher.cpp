// docker:// images from a registry (distribution API v2): the manifest (an index resolved to
// this host's platform), the config and the layers — fetched in parallel, each verified while
// it streams and committed to the store only once the whole image verified. Unless the store
// has the image's tree already or FetchOptions::render is off, the tree is rendered while the
// layers download (TreeRender: that render is the layers' check) and stored with the image, so
// the first run starts warm; otherwise LayerCheck inflates each layer to check it.
#include "stage0/fetch/docker_fetcher.hpp"

#include <algorithm>
#include <cstdlib>

#include "common/error.hpp"
#include "discovery/auth.hpp"
#include "discovery/http.hpp"
#include "discovery/reference.hpp"
#include "discovery/registry_client.hpp"
#include "formats/oci/media_types.hpp"
#include "stage0/fetch/layer_check.hpp"
#include "stage0/fetch/progress.hpp"
#include "stage0/fetch/tree_render.hpp"

namespace ferry::fetch {

namespace {

class DockerFetcher : public Fetcher {
 public:
  bool accepts(const ImageArg& arg) const override {
    return std::holds_alternative<DockerArg>(arg);
  }

  std::string fetch(const ImageArg& arg, FetchContext& ctx) override {
    auto ref = registry::DockerReference::parse(std::get<DockerArg>(arg).ref);
    http::ClientOptions co = clientOptions(ctx.options);
    co.hostAuthorization.clear();  // appc servers' (auth.d): a registry uses its own credentials
    http::Client client(std::move(co));
    registry::RegistryOptions ro;
    ro.scheme = ctx.options.insecureHttp ? registry::Scheme::kAuto : registry::Scheme::kHttps;
    registry::Credentials credentials = ctx.options.registryCredentials;  // docker.d first
    credentials.merge(registry::Credentials::loadDefault(ctx.options.dataDir));
    registry::RegistryClient rc(client, std::move(credentials), ro);
    registry::ResolvedManifest m = rc.resolve(ref);
    std::string what = ref.str();

    // Layers the store lacks, downloaded in parallel, each checked while it streams (digest,
    // size, and by LayerCheck its tar entries and diff_id). Writers are made here (the store is
    // single-threaded) and fed by the download workers; nothing is committed before every
    // blob of the image is complete and verified, so a failed fetch leaves the store as it was
    // (uncommitted writers remove their temp files).
    const std::vector<Digest>& diffIds = m.config.rootfs.diffIds;
    if (diffIds.size() != m.manifest.layers.size()) {
      throw Error(Errc::kInvalid, "cannot fetch " + what + ": config " +
                                      m.manifest.config.digest.str() + ": rootfs.diff_ids has " +
                                      std::to_string(diffIds.size()) +
                                      " entries for the manifest's " +
                                      std::to_string(m.manifest.layers.size()) + " layers");
    }
    std::vector<oci::Descriptor> missing;
    std::vector<Digest> missingDiffIds;
    for (size_t i = 0; i < m.manifest.layers.size(); ++i) {
      const oci::Descriptor& l = m.manifest.layers[i];
      if (!oci::isLayer(l.mediaType)) {
        throw Error(Errc::kUnsupported, "cannot fetch " + what + ": layer " + l.digest.str() +
                                            " has media type " + quote(l.mediaType));
      }
      if (ctx.store.hasBlob(l.digest)) continue;
      if (std::any_of(missing.begin(), missing.end(),
                      [&](const oci::Descriptor& d) { return d.digest == l.digest; })) {
        continue;  // the same layer twice in one image is downloaded once
      }
      missing.push_back(l);
      missingDiffIds.push_back(diffIds[i]);
    }
    std::vector<store::BlobWriter> writers;
    writers.reserve(missing.size() + 2);
    for (size_t i = 0; i < missing.size(); ++i) {
      writers.push_back(ctx.store.newBlob("layer " + missing[i].digest.str() + " of " + what,
                                          missing[i].digest.algorithm(), missing[i].digest,
                                          missing[i].size));
      // fetchBlobs hashes every byte and fails unless the digest matched; nothing is committed
      // unless it succeeded: hashing again in the writer would only cost time.
      writers.back().trustCallerDigest();
    }
    // The tree, when it is rendered here: layers in the image's order, each from the store or
    // from its download's temp file once that is complete.
    std::vector<Digest> layerDigests;
    for (const auto& l : m.manifest.layers) layerDigests.push_back(l.digest);
    std::optional<store::TreeDraft> draft =
        ctx.options.render ? ctx.store.draftOciTree(layerDigests) : std::nullopt;
    std::unique_ptr<TreeRender> render;
    if (draft) {
      std::vector<TreeRender::Layer> layers;
      for (size_t i = 0; i < m.manifest.layers.size(); ++i) {
        const Digest& d = m.manifest.layers[i].digest;
        TreeRender::Layer l{"layer " + d.str() + " of " + what, d.str(), {}, diffIds[i], {}};
        auto it = std::find_if(missing.begin(), missing.end(),
                               [&](const oci::Descriptor& x) { return x.digest == d; });
        if (it == missing.end()) {
          l.blob = ctx.store.blobPath(d);
        } else {
          l.download = static_cast<size_t>(it - missing.begin());
          l.blob = writers[*l.download].tempPath();
        }
        layers.push_back(std::move(l));
      }
      render = std::make_unique<TreeRender>(*draft, std::move(layers), missing.size());
    }
    std::vector<std::unique_ptr<LayerCheck>> checks(missing.size());
    Progress progress;
    std::vector<Progress::Handle> bars;
    for (const auto& l : missing) {
      bars.push_back(progress.start(l.digest.str().substr(0, 19), static_cast<uint64_t>(l.size)));
    }
    rc.fetchBlobs(
        ref, missing,
        [&](size_t i, const oci::Descriptor& d) {
          registry::BlobTarget t;
          if (render) {
            t.sink = [&writers, &render, i](const char* data, size_t size) {
              render->throwIfFailed();  // a layer refused: the downloads stop
              writers[i].write(data, size);
            };
            t.finish = [&render, &bars, i] {
              render->ready(i);
              bars[i].finish();
            };
            return t;
          }
          checks[i] = std::make_unique<LayerCheck>("layer " + d.digest.str() + " of " + what,
                                                   d.digest.str(), missingDiffIds[i]);
          t.sink = [&writers, &checks, i](const char* data, size_t size) {
            checks[i]->write(data, size);
            writers[i].write(data, size);
          };
          t.finish = [&checks, &bars, i] {
            checks[i]->finish();
            bars[i].finish();
          };
          return t;
        },
        4, [&bars](size_t i, uint64_t done, uint64_t) { bars[i].update(done); });
    checks.clear();
    if (render) {
      render->finish();
      draft->seal();
    }

    store::BlobWriter config =
        ctx.store.newBlob("config of " + what, m.manifest.config.digest.algorithm(),
                          m.manifest.config.digest, static_cast<int64_t>(m.configBytes.size()));
    config.write(m.configBytes);
    store::BlobWriter manifest = ctx.store.newBlob("manifest of " + what, m.digest.algorithm(),
                                                   m.digest, static_cast<int64_t>(m.bytes.size()));
    manifest.write(m.bytes);
    for (store::BlobWriter& w : writers) w.commit();
    config.commit();
    manifest.commit();
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
    std::string id = ctx.store.addImage(std::move(r)).id;
    if (draft) ctx.store.addTree(std::move(*draft), id);
    return id;
  }
};

}  // namespace

void addDockerFetcher(std::vector<std::unique_ptr<Fetcher>>& out) {
  out.push_back(std::make_unique<DockerFetcher>());
}

}  // namespace ferry::fetch
