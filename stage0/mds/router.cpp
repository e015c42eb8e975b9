#include "stage0/mds/router.hpp"

#include <openssl/crypto.h>

#include <map>
#include <optional>
#include <string_view>

#include "common/error.hpp"

namespace ferry::mds {

namespace {

constexpr std::string_view kPrefix = "acMetadata/v1/";

Response error(int status, std::string message) {
  return Response{status, kText, std::move(message) + "\n", {}};
}

Response methodNotAllowed(const std::string& allow) {
  Response r = error(405, "method not allowed: use " + allow);
  r.allow = allow;
  return r;
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Form fields from the query string and, for a urlencoded body, from the body; the body's
// value wins (Go's Request.FormValue, which appc clients were written against). The first
// occurrence of a field counts.
using Form = std::map<std::string, std::string, std::less<>>;

bool parseForm(std::string_view text, Form& form) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    form.emplace(std::move(*key), std::move(*value));
  }
  return true;
}

std::optional<Form> formOf(const Request& req, std::string_view query) {
  Form body, q;
  std::string_view type = req.contentType;
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type == "application/x-www-form-urlencoded" && !parseForm(req.body, body)) {
    return std::nullopt;
  }
  if (!parseForm(query, q)) return std::nullopt;
  body.merge(q);  // keeps the body's fields on a clash
  return body;
}

const std::string* field(const Form& f, std::string_view name) {
  auto it = f.find(name);
  return it == f.end() ? nullptr : &it->second;
}

Response sign(const Pod& pod, const HmacKey& key, const Request& req, std::string_view query) {
  auto form = formOf(req, query);
  if (!form) return error(400, "malformed form");
  const std::string* content = field(*form, "content");
  if (!content) return error(400, "content form field missing");
  return Response{200, kText, key.sign(pod.uuid, *content), {}};
}

Response verify(const HmacKey& key, const Request& req, std::string_view query) {
  auto form = formOf(req, query);
  if (!form) return error(400, "malformed form");
  const std::string* uuidText = field(*form, "uuid");
  if (!uuidText) return error(400, "uuid form field missing");
  std::optional<appc::Uuid> uuid;
  try {
    uuid = appc::Uuid::parse(*uuidText);
  } catch (const Error& e) {
    return error(400, std::string("uuid form field malformed: ") + e.what());
  }
  const std::string* content = field(*form, "content");
  if (!content) return error(400, "content form field missing");
  const std::string* signature = field(*form, "signature");
  if (!signature) return error(400, "signature form field missing");
  if (!base64Decode(*signature)) return error(400, "signature form field is not base64");
  if (!key.verify(*uuid, *content, *signature)) return error(403, "signature does not verify");
  return Response{200, kText, {}, {}};
}

Response annotationValue(const AnnotationList& list, std::string_view rawName,
                         std::string_view what) {
  auto name = percentDecode(rawName, false);
  if (!name) return error(400, "malformed annotation name");
  for (const auto& [n, v] : list) {
    if (n == *name) return Response{200, kText, v, {}};
  }
  return error(404, std::string(what) + " annotation " + quote(*name) + " not found");
}

// nullopt: no GET endpoint at this path.
std::optional<Response> get(const Pod& pod, std::string_view path) {
  if (path == "pod/annotations" || path == "pod/annotations/") {
    return Response{200, kJson, annotationsJson(pod.annotations), {}};
  }
  if (startsWith(path, "pod/annotations/")) {
    return annotationValue(pod.annotations, path.substr(16), "pod");
  }
  if (path == "pod/manifest") return Response{200, kJson, pod.podManifest, {}};
  if (path == "pod/uuid") return Response{200, kText, pod.uuid.str(), {}};
  if (startsWith(path, "apps/")) {
    std::string_view rest = path.substr(5);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto name = percentDecode(rest.substr(0, slash), false);
    if (!name) return error(400, "malformed app name");
    const PodApp* app = pod.findApp(*name);
    if (!app) return error(404, "app " + quote(*name) + " not found in this pod");
    std::string_view entry = rest.substr(slash + 1);
    if (entry == "annotations" || entry == "annotations/") {
      return Response{200, kJson, annotationsJson(app->annotations), {}};
    }
    if (startsWith(entry, "annotations/")) {
      return annotationValue(app->annotations, entry.substr(12), "app");
    }
    if (entry == "image/manifest") return Response{200, kJson, app->imageManifest, {}};
    if (entry == "image/id") return Response{200, kText, app->imageId, {}};
  }
  return std::nullopt;
}

bool isPost(std::string_view path) { return path == "pod/hmac/sign" || path == "pod/hmac/verify"; }

}  // namespace

std::optional<std::string> percentDecode(std::string_view s, bool form) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && form) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Response routePod(const Pod* pod, const HmacKey& key, const Request& req) {
  std::string_view target = req.target;
  size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  std::string_view path = target.substr(0, q);
  if (!startsWith(path, "/")) return error(400, "request target must be a path");
  path.remove_prefix(1);
  size_t slash = path.find('/');
  std::string_view token = path.substr(0, slash);
  // The token is the pod's credential: compare in constant time.
  if (pod == nullptr || token.size() != pod->token.size() ||
      CRYPTO_memcmp(token.data(), pod->token.data(), token.size()) != 0) {
    return error(401, "unknown or missing token");
  }
  std::string_view rest = slash == std::string_view::npos ? "" : path.substr(slash + 1);
  if (!startsWith(rest, kPrefix)) return error(404, "no such endpoint");
  rest.remove_prefix(kPrefix.size());
  if (isPost(rest)) {
    if (req.method != "POST") return methodNotAllowed("POST");
    return rest == "pod/hmac/sign" ? sign(*pod, key, req, query) : verify(key, req, query);
  }
  std::optional<Response> r = get(*pod, rest);
  if (!r) return error(404, "no such endpoint");
  if (req.method != "GET" && req.method != "HEAD") return methodNotAllowed("GET, HEAD");
  return *r;
}

Response routeHost(const HmacKey& key, const Request& req) {
  std::string_view target = req.target;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (path != "/acMetadata/v1/pod/hmac/verify") {
    return error(404, "only POST /acMetadata/v1/pod/hmac/verify is served here");
  }
  if (req.method != "POST") return methodNotAllowed("POST");
  return verify(key, req, query);
}

}  // namespace ferry::mds
