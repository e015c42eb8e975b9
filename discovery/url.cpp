// URL helpers of http.hpp: scheme tests, host extraction and RFC 3986 reference resolution.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/http.hpp"

namespace ferry::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The five components of RFC 3986 §3; absent ones are nullopt (an empty query "?" is present).
struct UrlParts {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

UrlParts split(std::string_view s) {
  UrlParts p;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":" before any of "/?#".
  if (!s.empty() && isAlpha(s[0])) {
    size_t i = 1;
    while (i < s.size() &&
           (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
      ++i;
    }
    if (i < s.size() && s[i] == ':') {
      p.scheme = std::string(s.substr(0, i));
      s.remove_prefix(i + 1);
    }
  }
  if (size_t hash = s.find('#'); hash != std::string_view::npos) {
    p.fragment = std::string(s.substr(hash + 1));
    s = s.substr(0, hash);
  }
  if (size_t q = s.find('?'); q != std::string_view::npos) {
    p.query = std::string(s.substr(q + 1));
    s = s.substr(0, q);
  }
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    size_t slash = s.find('/');
    p.authority = std::string(s.substr(0, slash));
    s = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
  }
  p.path = std::string(s);
  return p;
}

std::string join(const UrlParts& p) {
  std::string out;
  if (p.scheme) out += *p.scheme + ":";
  if (p.authority) out += "//" + *p.authority;
  out += p.path;
  if (p.query) out += "?" + *p.query;
  if (p.fragment) out += "#" + *p.fragment;
  return out;
}

// RFC 3986 §5.2.4.
std::string removeDotSegments(std::string_view in) {
  std::string out;
  auto dropLastSegment = [&out] {
    size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      dropLastSegment();
    } else if (in == "/..") {
      in = "/";
      dropLastSegment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', 1);
      if (next == std::string_view::npos) next = in.size();
      out += in.substr(0, next);
      in.remove_prefix(next);
    }
  }
  return out;
}

// RFC 3986 §5.2.3.
std::string mergePaths(const UrlParts& base, std::string_view refPath) {
  if (base.authority && base.path.empty()) return "/" + std::string(refPath);
  size_t slash = base.path.rfind('/');
  if (slash == std::string::npos) return std::string(refPath);
  return base.path.substr(0, slash + 1) + std::string(refPath);
}

std::string schemeOf(std::string_view url) {
  UrlParts p = split(url);
  return p.scheme ? lower(*p.scheme) : std::string();
}

// "host[:port]" lowercased, with the scheme's default port left out.
std::string originHost(std::string_view url) {
  std::string host = lower(urlHost(url));
  std::string scheme = schemeOf(url);
  std::string_view defaultPort = scheme == "https" ? ":443" : scheme == "http" ? ":80" : "";
  if (!defaultPort.empty() && host.ends_with(defaultPort)) {
    std::string rest = host.substr(0, host.size() - defaultPort.size());
    // "[::1]:443" or "name:443", not the tail of an IPv6 literal.
    if (rest.find(':') == std::string::npos || rest.ends_with(']')) host = rest;
  }
  return host;
}

}  // namespace

bool isHttps(std::string_view url) { return schemeOf(url) == "https"; }

bool isHttp(std::string_view url) { return schemeOf(url) == "http"; }

std::string urlHost(std::string_view url) {
  UrlParts p = split(url);
  if (!p.authority) return {};
  std::string_view a = *p.authority;
  if (size_t at = a.rfind('@'); at != std::string_view::npos) a.remove_prefix(at + 1);
  return std::string(a);
}

std::string resolveUrl(std::string_view base, std::string_view ref) {
  UrlParts b = split(base);
  UrlParts r = split(ref);
  UrlParts t;
  if (r.scheme) {
    t = r;
    t.path = removeDotSegments(r.path);
  } else {
    if (r.authority) {
      t.authority = r.authority;
      t.path = removeDotSegments(r.path);
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        t.path = removeDotSegments(r.path.starts_with('/') ? r.path : mergePaths(b, r.path));
        t.query = r.query;
      }
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
  }
  t.fragment = r.fragment;
  return join(t);
}

bool sameOrigin(std::string_view a, std::string_view b) {
  return schemeOf(a) == schemeOf(b) && originHost(a) == originHost(b);
}

}  // namespace ferry::http
