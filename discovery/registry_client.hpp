// The OCI distribution (Docker registry v2) client: pull side only.
//
// RegistryClient talks to registries through an http::Client. resolve() turns a DockerReference
// into one image for one platform: it GETs /v2/<repo>/manifests/<tag|digest> (accepting OCI and
// Docker v2.2 manifests and indexes), checks the bytes against the digest asked for and the
// Docker-Content-Digest header, follows an index to the platform's manifest by digest, and
// fetches and verifies the image configuration. fetchBlob() streams /v2/<repo>/blobs/<digest>,
// counting and hashing as bytes pass, so a blob is never accepted unverified; fetchBlobs() does
// several at once.
//
// Authentication follows the registry: a 401's WWW-Authenticate challenge says Bearer (get a
// token for `repository:<repo>:pull` from the realm, with the stored credentials if any) or
// Basic (send the stored credentials). Authorization values are cached per (registry, scope) for
// the client's life, so each repository authenticates once.
//
// Errors are ferry::Error naming the reference and the part that failed:
//   cannot fetch docker://localhost:5000/x:1: manifest: 404 Not Found (MANIFEST_UNKNOWN: …)
// 404 is kNotFound, 401/403 kSecurity, other statuses and transport failures kIo, content that
// does not match its digest or size kDigestMismatch, schema 1 manifests kUnsupported.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "discovery/auth.hpp"
#include "discovery/http.hpp"
#include "discovery/reference.hpp"
#include "discovery/registry_errors.hpp"
#include "formats/oci/descriptor.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/oci/manifest.hpp"
#include "formats/oci/platform.hpp"

namespace ferry::registry {

enum class Scheme {
  kHttps,
  kHttp,  // needs ClientOptions::allowHttp
  // https; when the http client allows plain http and https fails to connect, http (and that
  // choice is remembered per registry) — Docker's "insecure registry" behaviour.
  kAuto,
};

struct RegistryOptions {
  Scheme scheme = Scheme::kAuto;
  uint64_t maxManifestSize = 4 << 20;  // what registries accept (distribution-spec)
  uint64_t maxConfigSize = 16 << 20;
};

// A manifest or index as the registry served it.
struct FetchedManifest {
  Digest digest;          // of `bytes`
  std::string mediaType;  // from the document, else Content-Type, else its shape
  std::string bytes;
};

struct ResolvedManifest {
  Digest digest;          // of the image manifest (not of the index)
  std::string mediaType;  // of the image manifest
  std::string bytes;      // the image manifest as served
  oci::ImageManifest manifest;
  std::optional<Digest> indexDigest;  // set when resolved through an index
  std::string configBytes;
  oci::ImageConfig config;
};

// Where fetchBlobs puts one blob: `sink` gets its bytes, `finish` (optional) runs once the blob
// is complete and verified, e.g. to commit an oci::BlobWriter.
struct BlobTarget {
  http::Sink sink;
  std::function<void()> finish;
};
// Called from worker threads (for different indices at the same time).
using BlobTargetFactory = std::function<BlobTarget(size_t index, const oci::Descriptor&)>;
// (index, bytes so far, size of that blob). Calls are serialized by fetchBlobs.
using BlobProgress = std::function<void(size_t index, uint64_t done, uint64_t total)>;

class RegistryClient {
 public:
  // `http` must outlive the client.
  RegistryClient(const http::Client& http, Credentials credentials, RegistryOptions options = {});
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The image of `ref` for `platform` (an index is resolved; a plain manifest is taken as is).
  ResolvedManifest resolve(const DockerReference& ref,
                           const oci::Platform& platform = oci::hostPlatform()) const;

  // One manifest or index by tag or digest (`reference`), verified against the digest when
  // fetched by digest and against Docker-Content-Digest when sent. Schema 1 is kUnsupported.
  FetchedManifest fetchManifest(const DockerReference& ref, std::string_view reference) const;

  // Streams one blob of ref's repository into `sink`, verifying size and digest as it goes: more
  // bytes than the descriptor's size abort the transfer; a short blob or another digest throws
  // Error{kDigestMismatch} at the end (after the sink saw the bytes: the sink must not commit
  // anything before fetchBlob returns).
  void fetchBlob(const DockerReference& ref, const oci::Descriptor& blob, const http::Sink& sink,
                 const http::Progress& progress = {}) const;
  // A small blob (a config) into memory, refusing more than maxSize (Error{kLimit}).
  std::string fetchBlobBytes(const DockerReference& ref, const oci::Descriptor& blob,
                             uint64_t maxSize) const;

  // Fetches `blobs` with up to maxParallel threads. The first failure stops the others (those in
  // flight are aborted as their next bytes arrive) and is rethrown once every worker has stopped;
  // `finish` of the blobs not yet complete is then never called.
  void fetchBlobs(const DockerReference& ref, const std::vector<oci::Descriptor>& blobs,
                  const BlobTargetFactory& makeTarget, size_t maxParallel = 4,
                  const BlobProgress& progress = {}) const;

 private:
  using Send = std::function<http::Response(const http::Request&)>;

  std::string baseUrl(const DockerReference& ref) const;
  // One request to /v2/<path> with the cached Authorization; on 401, authenticates as the
  // challenge says and retries once. Returns the final response, whatever its status.
  http::Response exchange(const DockerReference& ref, const std::string& path,
                          const http::Headers& headers, std::string_view what,
                          const Send& send) const;
  std::optional<std::string> cachedAuthorization(const std::string& key) const;
  // `sent` is the Authorization that drew the 401, if any.
  std::string authorize(const DockerReference& ref, const http::Response& unauthorized,
                        const std::string& key, const std::optional<std::string>& sent,
                        std::string_view what) const;
  struct Token {
    std::string value;
    std::chrono::seconds lifetime;
  };
  Token fetchToken(const DockerReference& ref, const std::string& realm,
                   const std::optional<std::string>& service, const std::string& scope,
                   std::string_view what) const;
  FetchedManifest fetchManifestAs(const DockerReference& ref, std::string_view reference,
                                  std::string_view what) const;
  void fetchBlobAs(const DockerReference& ref, const oci::Descriptor& blob, const http::Sink& sink,
                   const http::Progress& progress, std::string_view what) const;

  const http::Client& http_;
  Credentials credentials_;
  RegistryOptions options_;

  struct CachedAuth {
    std::string authorization;  // the Authorization header value
    std::optional<std::chrono::steady_clock::time_point> expires;
  };
  mutable std::mutex mutex_;
  // Held while authenticating, so that parallel requests that all got a 401 fetch one token.
  mutable std::mutex authMutex_;
  mutable std::map<std::string, CachedAuth> auth_;      // "registry scope" → Authorization
  mutable std::map<std::string, std::string> schemes_;  // registry → "https" / "http"
};

}  // namespace ferry::registry
