// The libcurl implementation of http.hpp.
//
// One easy handle per call, reset between the hops of a redirect chain (so a redirect to the
// same host reuses the connection). curl never follows a redirect itself: perform() runs one
// exchange per hop and decides about the next one (scheme policy, credentials, method).
// Exceptions never cross curl's C frames: callbacks park them and return an abort code, and
// the call rethrows them once curl_easy_perform() has returned.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "discovery/http.hpp"

namespace ferry::http {

namespace {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode rc = curl_global_init(CURL_GLOBAL_ALL);
    if (rc != CURLE_OK) {
      throw Error(Errc::kIo, std::string("cannot initialize libcurl: ") + curl_easy_strerror(rc));
    }
  });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& item) {
  curl_slist* grown = curl_slist_append(list.get(), item.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  (void)list.release();
  list.reset(grown);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is2xx(long status) { return status >= 200 && status < 300; }
bool isRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// One exchange: what the callbacks need and what they collect.
struct Exchange {
  CURL* curl = nullptr;
  const Sink* sink = nullptr;  // stream(): where a 2xx body goes
  const Progress* progress = nullptr;
  uint64_t limit = 0;

  Headers headers;
  std::string body;
  bool overLimit = false;
  uint64_t delivered = 0;  // to the sink
  uint64_t reported = 0;   // to progress
  std::exception_ptr error;

  long status() const {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
  void report(uint64_t now, std::optional<uint64_t> total) {
    reported = now;
    (*progress)(now, total);
  }
};

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t n = size * count;
  try {
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      // A new status line: an interim (1xx) or proxy CONNECT response came before.
      ex->headers.clear();
    } else if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (!ex->headers.empty()) {  // obsolete line folding
        ex->headers.back().second += " ";
        ex->headers.back().second += trim(line);
      }
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      ex->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                               std::string(trim(line.substr(colon + 1))));
    }
  } catch (...) {
    ex->error = std::current_exception();
    return 0;
  }
  return n;
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t n = size * count;
  try {
    if (ex->sink != nullptr) {
      if (is2xx(ex->status())) {
        (*ex->sink)(data, n);
        ex->delivered += n;
      } else if (ex->body.size() < ex->limit) {  // an error page, kept for messages
        ex->body.append(data, std::min<uint64_t>(n, ex->limit - ex->body.size()));
      }
      return n;
    }
    if (ex->body.size() + n > ex->limit) {
      ex->overLimit = true;
      return 0;
    }
    ex->body.append(data, n);
  } catch (...) {
    ex->error = std::current_exception();
    return 0;
  }
  return n;
}

int onProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* ex = static_cast<Exchange*>(user);
  if (ex->progress == nullptr || dlnow <= 0 || static_cast<uint64_t>(dlnow) == ex->reported) {
    return 0;
  }
  try {
    if (!is2xx(ex->status())) return 0;
    std::optional<uint64_t> total;
    if (dltotal > 0) total = static_cast<uint64_t>(dltotal);
    ex->report(static_cast<uint64_t>(dlnow), total);
  } catch (...) {
    ex->error = std::current_exception();
    return 1;
  }
  return 0;
}

// One hop of a call: what is sent.
struct Hop {
  std::string method;
  std::string url;
  Headers headers;
  std::optional<std::string> body;
};

class Call {
 public:
  Call(const ClientOptions& options, const Request& request)
      : options_(options), request_(request) {}

  Response run(const Sink* sink, const Progress* progress) {
    initCurlOnce();
    easy_.reset(curl_easy_init());
    if (!easy_) fail(request_.url, "curl_easy_init failed");
    Hop hop{request_.method, request_.url, request_.headers, request_.body};
    checkScheme(hop.url, std::nullopt);
    for (int redirects = 0;; ++redirects) {
      Exchange ex;
      ex.curl = easy_.get();
      ex.sink = sink;
      ex.progress = progress != nullptr && *progress ? progress : nullptr;
      ex.limit = request_.maxBodySize;
      perform(hop, ex);
      long status = ex.status();
      std::optional<std::string> location;
      if (isRedirect(status)) {
        for (const auto& [name, value] : ex.headers) {
          if (iequals(name, "Location") && !value.empty()) {
            location = value;
            break;
          }
        }
      }
      if (!location) {
        if (sink != nullptr && is2xx(status) && ex.progress != nullptr &&
            ex.delivered != ex.reported) {
          ex.report(ex.delivered, ex.delivered);
        }
        return Response{status, hop.url, std::move(ex.headers), std::move(ex.body)};
      }
      if (redirects >= options_.maxRedirects) {
        fail(hop.url, "more than " + std::to_string(options_.maxRedirects) + " redirects");
      }
      std::string next = resolveUrl(hop.url, *location);
      checkScheme(next, hop.url);
      if (!sameOrigin(hop.url, next)) {
        std::erase_if(hop.headers, [](const auto& h) {
          return iequals(h.first, "Authorization") || iequals(h.first, "Cookie");
        });
      }
      // 303 always turns into a GET; 301 and 302 do so for a POST, as browsers and curl do.
      if ((status == 303 && hop.method != "HEAD") ||
          ((status == 301 || status == 302) && hop.method == "POST")) {
        hop.method = "GET";
        hop.body.reset();
      }
      hop.url = std::move(next);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& hopUrl, const std::string& cause,
                         Errc code = Errc::kIo) const {
    std::string what = "cannot " + request_.method + " " + quote(request_.url);
    if (hopUrl != request_.url) what += " (redirected to " + quote(hopUrl) + ")";
    throw Error(code, what + ": " + cause);
  }

  // Plain http only when allowed, and nothing but http(s); checked before any traffic.
  void checkScheme(const std::string& url, const std::optional<std::string>& from) const {
    const std::string& at = from ? *from : url;
    std::string target = from ? "redirected to " + quote(url) + ", " : std::string();
    if (isHttps(url)) return;
    if (!isHttp(url))
      fail(at, target + "only https and http URLs are supported", Errc::kUnsupported);
    if (!options_.allowHttp) {
      fail(at, target + "plain http is not allowed (--insecure-options=http allows it)",
           Errc::kSecurity);
    }
  }

  // The auth.d credentials for this hop's host: https only, and only when the request carries
  // no Authorization of its own.
  std::string configuredAuthorization(const Hop& hop) const {
    if (options_.hostAuthorization.empty() || !isHttps(hop.url)) return {};
    for (const auto& [name, value] : hop.headers) {
      if (iequals(name, "Authorization")) return {};
    }
    std::string host = urlHost(hop.url);
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = options_.hostAuthorization.find(host);
    if (it == options_.hostAuthorization.end() && host.ends_with(":443")) {
      it = options_.hostAuthorization.find(host.substr(0, host.size() - 4));
    } else if (it == options_.hostAuthorization.end() &&
               host.find(':', host.rfind(']') == std::string::npos ? 0 : host.rfind(']')) ==
                   std::string::npos) {
      it = options_.hostAuthorization.find(host + ":443");
    }
    return it == options_.hostAuthorization.end() ? std::string() : it->second;
  }

  void perform(const Hop& hop, Exchange& ex) {
    CURL* c = easy_.get();
    curl_easy_reset(c);
    char errorBuffer[CURL_ERROR_SIZE] = {};
    const char* protocols = options_.allowHttp ? "http,https" : "https";
    Slist headers;
    Slist connectTo;
    Headers sent = hop.headers;
    if (std::string auth = configuredAuthorization(hop); !auth.empty()) {
      sent.emplace_back("Authorization", std::move(auth));
    }
    for (const auto& [name, value] : sent) {
      auto bad = [](const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; };
      if (name.empty() || bad(name) || bad(value)) {
        fail(hop.url, "invalid request header " + quote(name), Errc::kInvalid);
      }
      // "Name;" is how curl is told to send a header with an empty value.
      append(headers, value.empty() ? name + ";" : name + ": " + value);
    }
    if (hop.body) append(headers, "Expect:");
    for (const auto& entry : options_.connectTo) append(connectTo, entry);

    curl_easy_setopt(c, CURLOPT_URL, hop.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the _STR forms replace the deprecated bitmasks
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
#else
    long mask = options_.allowHttp ? (CURLPROTO_HTTP | CURLPROTO_HTTPS) : CURLPROTO_HTTPS;
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, mask);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, mask);
    (void)protocols;
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, options_.userAgent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connectTimeoutSeconds);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, options_.lowSpeedBytes);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.lowSpeedSeconds);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verifyTls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verifyTls ? 2L : 0L);
    std::string caFile = options_.caFile ? options_.caFile->string() : std::string();
    if (options_.caFile) curl_easy_setopt(c, CURLOPT_CAINFO, caFile.c_str());
    if (connectTo) curl_easy_setopt(c, CURLOPT_CONNECT_TO, connectTo.get());
    curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ex);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (hop.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (hop.method == "GET" && !hop.body) {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      if (hop.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, hop.method.c_str());
      const std::string& body = hop.body ? *hop.body : kEmpty;
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    }

    CURLcode rc = curl_easy_perform(c);
    if (ex.error) std::rethrow_exception(ex.error);
    if (ex.overLimit) {
      fail(hop.url, "response body exceeds " + std::to_string(request_.maxBodySize) + " bytes",
           Errc::kLimit);
    }
    if (rc == CURLE_OPERATION_TIMEDOUT &&
        std::string_view(errorBuffer).find("too slow") != std::string_view::npos) {
      fail(hop.url, "the transfer stalled: less than " + std::to_string(options_.lowSpeedBytes) +
                        " byte/s for " + std::to_string(options_.lowSpeedSeconds) +
                        " s (FERRY_HTTP_STALL_TIMEOUT sets how long to wait)");
    }
    if (rc != CURLE_OK) {
      std::string cause = errorBuffer[0] != '\0' ? errorBuffer : curl_easy_strerror(rc);
      // A TLS handshake answered by a plain http server (OpenSSL: "wrong version number").
      if (rc == CURLE_SSL_CONNECT_ERROR && hop.url.rfind("https://", 0) == 0) {
        cause += " (a plain http server? --insecure-options=http fetches over http)";
      }
      fail(hop.url, cause);
    }
  }

  static inline const std::string kEmpty;
  const ClientOptions& options_;
  const Request& request_;
  Easy easy_;
};

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::optional<long> stallTimeoutFromEnvironment() {
  const char* v = std::getenv("FERRY_HTTP_STALL_TIMEOUT");
  if (v == nullptr || *v == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long seconds = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || seconds <= 0) {
    throw Error(Errc::kUsage,
                "FERRY_HTTP_STALL_TIMEOUT: want a positive number of seconds, not " + quote(v));
  }
  return seconds;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  if (auto stall = stallTimeoutFromEnvironment()) options_.lowSpeedSeconds = *stall;
  initCurlOnce();
}

Client::~Client() = default;

Response Client::get(const Request& request) const {
  return Call(options_, request).run(nullptr, nullptr);
}

Response Client::stream(const Request& request, const Sink& sink, const Progress& progress) const {
  return Call(options_, request).run(&sink, &progress);
}

std::string describeStatus(const Request& request, const Response& response) {
  std::string out = request.method + " " + quote(request.url);
  if (!response.url.empty() && response.url != request.url) {
    out += " (redirected to " + quote(response.url) + ")";
  }
  out += ": " + std::to_string(response.status);
  std::string reason(reasonPhrase(response.status));
  if (!reason.empty()) out += " " + reason;
  return out;
}

std::optional<int64_t> cacheMaxAge(std::string_view cacheControl) {
  std::optional<int64_t> maxAge;
  size_t start = 0;
  while (start <= cacheControl.size()) {
    size_t comma = cacheControl.find(',', start);
    std::string_view directive = trim(cacheControl.substr(start, comma - start));
    size_t eq = directive.find('=');
    std::string_view name = trim(directive.substr(0, eq));
    if (iequals(name, "no-cache") || iequals(name, "no-store")) return std::nullopt;
    if (iequals(name, "max-age") && eq != std::string_view::npos && !maxAge) {
      std::string_view value = trim(directive.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
      }
      int64_t n = 0;
      for (char c : value) {
        if (n > (INT64_MAX - 9) / 10) {
          n = INT64_MAX;
          break;
        }
        n = n * 10 + (c - '0');
      }
      maxAge = n;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return maxAge;
}

std::string_view reasonPhrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace ferry::http
