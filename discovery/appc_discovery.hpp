// appc meta discovery over HTTP: from an image name and labels to ACI, signature and public key
// URLs (spec/discovery.md).
//
// For each prefix of the name, longest first, discover() asks
// https://PREFIX?ac-discovery=1 (then http://PREFIX?ac-discovery=1 when plain http is allowed
// and https failed or did not answer 2xx), reads the page's meta tags (meta_tags.hpp) and
// renders the templates that apply (appc_templates.hpp). It stops at the first page that yields
// an endpoint; a page that fails, answers 4xx/5xx or has no usable template sends it on to the
// next shorter prefix. The image found must still be checked against the name and labels
// asked for (checkManifestMatches) once its manifest is read.
#pragma once

#include <string>
#include <vector>

#include "discovery/appc_image_ref.hpp"
#include "discovery/appc_templates.hpp"
#include "discovery/http.hpp"

namespace ferry::discovery {

struct DiscoverOptions {
  // Also try http://PREFIX?ac-discovery=1 (--insecure-options=http). The client must allow
  // plain http too, or those attempts fail with its refusal.
  bool insecureHttp = false;
  // How many prefixes to try, longest first; 0 tries them all.
  int depth = 0;
};

struct DiscoveryResult {
  std::string prefix;                   // the prefix whose page answered
  std::string pageUrl;                  // the discovery URL that answered (before redirects)
  std::vector<Endpoint> endpoints;      // discover(): never empty
  std::vector<std::string> publicKeys;  // ac-discovery-pubkeys of that page that apply
  std::vector<std::string> attempts;    // why each earlier try did not answer, in order
};

// The discovery URL of a prefix: SCHEME://PREFIX?ac-discovery=1.
std::string discoveryUrl(std::string_view scheme, std::string_view prefix);

// Throws Error{kNotFound} `cannot discover image "…": no ac-discovery template matched (tried
// …; …)` when no page yields an endpoint. Errors other than ferry::Error propagate.
DiscoveryResult discover(const AppcImageRef& ref, const http::Client& client,
                         const DiscoverOptions& options = {});

// For `ferry trust --prefix NAME` without a key file: the same walk, stopping at the first page
// with an ac-discovery-pubkeys tag that applies to `name`; endpoints stay empty. Throws
// Error{kNotFound} `cannot discover public keys of "…": …` when there is none.
DiscoveryResult discoverPublicKeys(const appc::AcIdentifier& name, const http::Client& client,
                                   const DiscoverOptions& options = {});

}  // namespace ferry::discovery
