// The metadata service's HTTP endpoints, as pure functions of a request.
//
// The service (service.hpp) owns sockets and parsing; this file decides what each request gets,
// so every path, method, status and content type is testable without a socket. Two listeners:
// - a pod's own listener (inside the pod's network namespace) serves the appc endpoints under
//   /<token>/acMetadata/v1/ for the one pod it belongs to (appc spec, ace.md "App Container
//   Metadata Service"); a wrong or unknown token gets 401, an unknown path 404, a wrong method
//   405 with Allow;
// - the optional host listener (--listen-tcp) serves only POST /acMetadata/v1/pod/hmac/verify,
//   for verifiers outside any pod.
#pragma once

#include <string>

#include "stage0/mds/hmac.hpp"
#include "stage0/mds/pod_registry.hpp"

namespace ferry::mds {

inline constexpr const char* kJson = "application/json";
inline constexpr const char* kText = "text/plain; charset=us-ascii";

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // origin-form: path and optional ?query
  std::string contentType;
  std::string body;
};

struct Response {
  int status = 200;
  std::string contentType = kText;
  std::string body;
  std::string allow;  // the Allow header of a 405
};

// pod: the pod the listener belongs to; null once it was unregistered.
Response routePod(const Pod* pod, const HmacKey& key, const Request& req);
Response routeHost(const HmacKey& key, const Request& req);

// Percent-decoding of a path segment or form value ('+' is a space only in forms).
// nullopt for a malformed escape.
std::optional<std::string> percentDecode(std::string_view s, bool form);

}  // namespace ferry::mds
