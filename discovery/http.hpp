// HTTP for ferry: one libcurl wrapper that every fetcher uses.
//
// A Client carries the policy (TLS verification and CA file, whether plain http is allowed,
// timeouts, user agent, proxy from the environment as curl reads it); a Request names one
// exchange. get() collects a bounded body in memory (manifests, discovery pages, tokens);
// stream() hands the body to a callback as it arrives (blobs, ACIs), with progress. Both
// follow redirects (a redirect from https to http is refused unless http is allowed) and
// return the final status: non-2xx is not an exception here — callers decide, and
// describeStatus() words the error. Transport failures (DNS, TLS, timeouts, resets, a stalled
// server) throw Error{kIo} naming the URL; plain http where it is not allowed (the request's
// URL or any redirect target) is Error{kSecurity}, refused before any traffic.
//
// Redirects are followed by this code, not by curl, so that the http policy applies to every
// hop and so that Authorization is dropped when a redirect leaves the origin (registries send
// blob downloads to a storage host that must not see the registry's credentials). A Client is
// immutable and every call uses its own curl handle: calls may run in parallel threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  bool verifyTls = true;  // --insecure-options=tls turns it off
  // CA bundle file used instead of the default one (tests use their own CA); curl's CA
  // directory (/etc/ssl/certs on Debian) still applies.
  std::optional<std::filesystem::path> caFile;
  bool allowHttp = false;  // --insecure-options=http
  long connectTimeoutSeconds = 30;
  // A transfer slower than lowSpeedBytes per second for lowSpeedSeconds is aborted (stalls).
  // The environment variable FERRY_HTTP_STALL_TIMEOUT (seconds) overrides lowSpeedSeconds for
  // every Client (tests shorten it; a slow link lengthens it).
  long lowSpeedBytes = 1;
  long lowSpeedSeconds = 30;
  std::string userAgent = "ferry";
  int maxRedirects = 10;
  // curl's CURLOPT_CONNECT_TO entries, "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT": the URL
  // (and Host, SNI, certificate checks) keep the name, the connection goes elsewhere. Tests
  // point discovery names such as example.com at a server on 127.0.0.1 this way.
  std::vector<std::string> connectTo;
  // Configured credentials (auth.d): an Authorization value per "host[:port]" (lowercased, as
  // in the URL; an entry without a port also serves that host on 443). Sent only over https,
  // only to that host, on each hop of a redirect chain, and never in place of a request's own
  // Authorization.
  std::map<std::string, std::string> hostAuthorization;
};

struct Request {
  std::string method = "GET";  // GET, HEAD, POST
  std::string url;
  Headers headers;                  // e.g. Accept, Authorization, If-None-Match
  std::optional<std::string> body;  // POST body
  // get(): a larger body is Error{kLimit}; stream(): the bound on a non-2xx body kept for
  // messages (the rest is dropped).
  uint64_t maxBodySize = 16 << 20;
};

struct Response {
  long status = 0;
  std::string url;   // after redirects
  Headers headers;   // of the final response; names as sent
  std::string body;  // get(); for stream(), a non-2xx body (bounded)
  // Case-insensitive lookup of the first header of that name.
  std::optional<std::string> header(std::string_view name) const;
};

// Called with (body bytes so far, total if known), for a 2xx response only.
using Progress = std::function<void(uint64_t, std::optional<uint64_t>)>;
using Sink = std::function<void(const char* data, size_t size)>;

// FERRY_HTTP_STALL_TIMEOUT as seconds, if set; Error{kUsage} when it is not a positive number.
std::optional<long> stallTimeoutFromEnvironment();

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return options_; }

  Response get(const Request& request) const;
  // The body goes to `sink` only for 2xx responses (others are collected into body, bounded).
  Response stream(const Request& request, const Sink& sink, const Progress& progress = {}) const;

 private:
  ClientOptions options_;
};

// `GET "https://x/y": 404 Not Found` (the requested URL, and the final one if redirected),
// for callers to put after "cannot <verb> <object>: ".
std::string describeStatus(const Request& request, const Response& response);

// The standard reason phrase of an HTTP status ("Not Found"), empty for unknown codes.
std::string_view reasonPhrase(long status);

// How long a response may be reused without asking again, from its Cache-Control header
// (RFC 9111 §5.2.2): the max-age=N directive's N seconds; nullopt when there is none, when
// no-cache or no-store forbids reuse, or when the value is not a number. Directive names compare
// case-insensitively; a quoted value is accepted; a value beyond int64 is clamped.
std::optional<int64_t> cacheMaxAge(std::string_view cacheControl);

// URL helpers (url.cpp). Schemes compare case-insensitively.
bool isHttps(std::string_view url);
bool isHttp(std::string_view url);  // plain http only
// "host[:port]" of an absolute URL, without user info, as written; "" when there is none.
std::string urlHost(std::string_view url);
// Resolves a possibly relative reference against an absolute base URL (RFC 3986 §5.2, with dot
// segments removed; for Location and token realms). A reference with a scheme is returned with
// only its dot segments removed.
std::string resolveUrl(std::string_view base, std::string_view ref);
// True if both URLs have the same scheme and host[:port] (case-insensitively): credentials may
// follow a redirect only within one origin.
bool sameOrigin(std::string_view a, std::string_view b);

}  // namespace ferry::http
