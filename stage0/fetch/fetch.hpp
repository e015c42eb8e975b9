// `ferry fetch`: bring an image into the store and return its ID.
//
// One Fetcher per transport (local ACI files, oci: layouts, …), each a small class behind the
// Fetcher interface, all listed in makeFetchers() — no self-registration. fetchImage() applies
// the pull policy (an image already in the store is not fetched again under "new"), picks the
// fetcher that accepts the argument and runs it inside a shared hold of the store's lock, so a
// concurrent gc cannot take the blobs it writes before addImage references them. A fetcher
// commits blobs only after everything was verified (digests, ACI structure, signature); on any
// error its uncommitted temp files go and the index is untouched.
// Downloads report their progress through a Progress (progress.hpp) the fetcher makes:
// start(name, total) per blob, then advance()/update() and finish() on the handle.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/auth.hpp"
#include "discovery/http.hpp"
#include "stage0/fetch/image_arg.hpp"
#include "stage0/store/store.hpp"

namespace ferry::fetch {

enum class PullPolicy { kNever, kNew, kUpdate };
PullPolicy parsePullPolicy(std::string_view s);  // never | new | update

struct FetchOptions {
  PullPolicy policy = PullPolicy::kNew;
  bool insecureImage = false;  // --insecure-options=image: skip signature verification
  bool insecureHttp = false;
  bool insecureTls = false;
  // --insecure-options=pubkey: signing keys (ferry trust, appc discovery's pubkeys) over plain
  // http or without certificate checks.
  bool insecurePubkey = false;
  // --signature: the detached signature of an ACI file or URL, read from this file instead of
  // IMAGE.asc (URL.asc); any other kind of image is refused with it.
  std::filesystem::path signature;
  std::filesystem::path dataDir;  // ferry's --dir (trust store, scratch space)
  // The configuration's credentials: auth.d's Authorization per appc host[:port]
  // (http::ClientOptions::hostAuthorization) and docker.d's per registry, which come before
  // those of the auth.json files (registry::Credentials::loadDefault).
  std::map<std::string, std::string> hostAuthorization;
  registry::Credentials registryCredentials;
  // Render a registry image's tree while its layers download (one inflate per layer, and the
  // first run finds the tree); off: check the layers only (--no-render).
  bool render = true;
};

// The HTTP policy of a fetch: TLS checks and plain http per --insecure-options, a CA bundle from
// SSL_CERT_FILE (a private server's CA, as OpenSSL tools read it). The stall timeout comes from
// FERRY_HTTP_STALL_TIMEOUT, which every http::Client reads.
http::ClientOptions clientOptions(const FetchOptions& options);
// http::describeStatus, with a hint for 401/403: which auth.d credentials apply (none, refused,
// or not sent over plain http).
std::string describeStatus(const FetchOptions& options, const http::Request& request,
                           const http::Response& response);

struct FetchContext {
  store::Store& store;
  const FetchOptions& options;
};

class Fetcher {
 public:
  Fetcher() = default;
  virtual ~Fetcher() = default;
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  virtual bool accepts(const ImageArg& arg) const = 0;
  // Fetches into the store; returns the image ID.
  virtual std::string fetch(const ImageArg& arg, FetchContext& ctx) = 0;
};

std::vector<std::unique_ptr<Fetcher>> makeFetchers();

// The image ID (store::ImageRecord::id).
std::string fetchImage(store::Store& store, const ImageArg& arg, const FetchOptions& options);

}  // namespace ferry::fetch
