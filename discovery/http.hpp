// HTTP for ferry: one libcurl wrapper that every fetcher uses.
//
// A Client carries the policy (TLS verification and CA file, whether plain http is allowed,
// timeouts, user agent, proxy from the environment as curl reads it); a Request names one
// exchange. get() collects a bounded body in memory (manifests, discovery pages, tokens);
// stream() hands the body to a callback as it arrives (blobs, ACIs), with progress. Both
// follow redirects (a redirect from https to http is refused unless http is allowed) and
// return the final status: non-2xx is not an exception here — callers decide, and
// describeStatus() words the error. Transport failures (DNS, TLS, timeouts, resets, a stalled
// server) throw Error{kIo} naming the URL.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  bool verifyTls = true;                       // --insecure-options=tls turns it off
  std::optional<std::filesystem::path> caFile;  // extra CA bundle (tests use their own CA)
  bool allowHttp = false;                       // --insecure-options=http
  long connectTimeoutSeconds = 30;
  // A transfer slower than lowSpeedBytes per second for lowSpeedSeconds is aborted (stalls).
  long lowSpeedBytes = 1;
  long lowSpeedSeconds = 60;
  std::string userAgent = "ferry";
};

struct Request {
  std::string method = "GET";  // GET, HEAD, POST
  std::string url;
  Headers headers;                  // e.g. Accept, Authorization, If-None-Match
  std::optional<std::string> body;  // POST body
  uint64_t maxBodySize = 16 << 20;  // get(): larger bodies are Error{kLimit}
};

struct Response {
  long status = 0;
  std::string url;  // after redirects
  Headers headers;  // of the final response; names as sent
  std::string body;  // get() only
  // Case-insensitive lookup of the first header of that name.
  std::optional<std::string> header(std::string_view name) const;
};

// Called with (bytes so far, total if known).
using Progress = std::function<void(uint64_t, std::optional<uint64_t>)>;
using Sink = std::function<void(const char* data, size_t size)>;

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

// "GET https://x/y: 404 Not Found" style text for errors.
std::string describeStatus(const Request& request, const Response& response);

// URL helpers.
bool isHttps(std::string_view url);
std::string urlHost(std::string_view url);  // "host[:port]" of an absolute URL
// Resolves a possibly relative reference against a base URL (for Location and token realms).
std::string resolveUrl(std::string_view base, std::string_view ref);

}  // namespace ferry::http
