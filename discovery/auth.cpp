#include "discovery/auth.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::registry {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 7230 tchar.
bool isTokenChar(char c) {
  return isAlnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 7235 token68 (without its trailing '=' padding).
bool isToken68Char(char c) {
  return isAlnum(c) || std::string_view("-._~+/").find(c) != std::string_view::npos;
}

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view h) : h_(h) {}

  std::vector<Challenge> parse() {
    std::vector<Challenge> out;
    skipListSeparators();
    while (!atEnd()) {
      out.push_back(challenge());
      skipListSeparators();
    }
    if (out.empty()) fail("no challenge");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw Error(Errc::kInvalid, "invalid WWW-Authenticate header " + quote(h_) + ": " + reason);
  }
  bool atEnd() const { return p_ >= h_.size(); }
  char peek() const { return atEnd() ? '\0' : h_[p_]; }
  size_t skipSpaces() {
    size_t start = p_;
    while (!atEnd() && (h_[p_] == ' ' || h_[p_] == '\t')) ++p_;
    return p_ - start;
  }
  // Empty list elements are allowed: "a, , b".
  void skipListSeparators() {
    skipSpaces();
    while (peek() == ',') {
      ++p_;
      skipSpaces();
    }
  }
  std::string_view token() {
    size_t start = p_;
    while (!atEnd() && isTokenChar(h_[p_])) ++p_;
    return h_.substr(start, p_ - start);
  }
  std::string quoted() {
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      if (atEnd()) fail("unterminated quoted string");
      char c = h_[p_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (atEnd()) fail("unterminated quoted string");
        c = h_[p_++];
      }
      out += c;
    }
  }

  // True if the text at p_ starts an auth-param ("name OWS = OWS value"), not a new challenge.
  bool atParam() {
    size_t save = p_;
    bool param = !token().empty();
    skipSpaces();
    // "name=" must be followed by a value; "abc=" at the end or before ',' is token68 padding.
    if (param && peek() == '=') {
      ++p_;
      skipSpaces();
      param = !atEnd() && peek() != ',' && peek() != '=';
    } else {
      param = false;
    }
    p_ = save;
    return param;
  }

  Challenge challenge() {
    Challenge c;
    std::string_view scheme = token();
    if (scheme.empty()) fail("expected an auth scheme at offset " + std::to_string(p_));
    c.scheme = lower(scheme);
    size_t spaces = skipSpaces();
    if (atEnd() || peek() == ',') return c;
    if (spaces == 0) fail("expected a space after " + quote(scheme));
    if (!atParam()) {
      size_t start = p_;
      while (!atEnd() && isToken68Char(h_[p_])) ++p_;
      while (peek() == '=') ++p_;
      if (p_ == start) fail("unexpected " + quote(h_.substr(p_, 1)) + " after " + quote(scheme));
      c.token68 = std::string(h_.substr(start, p_ - start));
      skipSpaces();
      if (!atEnd() && peek() != ',') fail("unexpected text after the token of " + quote(scheme));
      return c;
    }
    for (;;) {
      std::string name = lower(token());
      skipSpaces();
      ++p_;  // '=', checked by atParam()
      skipSpaces();
      std::string value;
      if (peek() == '"') {
        value = quoted();
      } else {
        value = std::string(token());
        if (value.empty()) fail("parameter " + quote(name) + " has no value");
      }
      if (!c.params.emplace(name, std::move(value)).second) {
        fail("parameter " + quote(name) + " appears twice");
      }
      skipSpaces();
      if (atEnd()) return c;
      if (peek() != ',') fail("expected ',' after parameter " + quote(name));
      size_t comma = p_;
      skipListSeparators();
      if (atEnd() || !atParam()) {
        p_ = comma;  // the next challenge starts after this comma
        return c;
      }
    }
  }

  std::string_view h_;
  size_t p_ = 0;
};

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Drops a URL scheme and, for URLs, the path: "https://index.docker.io/v1/" → "index.docker.io".
// Keys without a scheme may carry a namespace ("reg/ns/repo", podman) and keep it.
std::string normalizeKey(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      key = key.substr(0, key.find('/'));
      break;
    }
  }
  while (key.ends_with('/')) key.remove_suffix(1);
  return std::string(key);
}

[[noreturn]] void failAt(std::string_view what, const std::string& path, const std::string& why) {
  throw Error(Errc::kInvalid, "cannot parse " + std::string(what) + ": " + path + ": " + why);
}

}  // namespace

std::optional<std::string> Challenge::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::vector<Challenge> parseChallenges(std::string_view header) {
  return ChallengeParser(header).parse();
}

std::string base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  while (text.ends_with('=')) text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    size_t v = kBase64.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string basicAuthorization(const Credential& c) {
  return "Basic " + base64Encode(c.username + ":" + c.password);
}

Credentials Credentials::parse(std::string_view text, std::string_view what) {
  json::Json doc = json::parse(text, what);
  if (!doc.is_object()) failAt(what, "(root)", "must be an object");
  Credentials out;
  auto auths = doc.find("auths");
  if (auths == doc.end() || auths->is_null()) return out;
  if (!auths->is_object()) failAt(what, "auths", "must be an object");
  for (const auto& item : auths->items()) {
    const std::string& key = item.key();
    const json::Json& entry = item.value();
    std::string path = json::child("auths", key);
    if (!entry.is_object()) failAt(what, path, "must be an object");
    auto field = [&](std::string_view name) -> std::optional<std::string> {
      auto it = entry.find(std::string(name));
      if (it == entry.end() || it->is_null()) return std::nullopt;
      if (!it->is_string()) failAt(what, json::child(path, name), "must be a string");
      return it->get<std::string>();
    };
    Credential c;
    if (auto auth = field("auth"); auth && !auth->empty()) {
      std::optional<std::string> decoded = base64Decode(*auth);
      if (!decoded) failAt(what, json::child(path, "auth"), "is not base64");
      size_t colon = decoded->find(':');
      if (colon == std::string::npos) {
        failAt(what, json::child(path, "auth"), "must encode \"user:password\"");
      }
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    } else {
      c.username = field("username").value_or("");
      c.password = field("password").value_or("");
    }
    // An entry with only an identity token or a credential helper's placeholder.
    if (c.username.empty()) continue;
    out.add(key, std::move(c));
  }
  return out;
}

Credentials Credentials::load(const std::filesystem::path& path) {
  return parse(readFile(path, 1 << 20), quote(path.string()));
}

std::vector<std::filesystem::path> Credentials::defaultPaths(const std::filesystem::path& dataDir) {
  if (const char* env = std::getenv("FERRY_AUTH_FILE"); env != nullptr && *env != '\0') {
    return {std::filesystem::path(env)};
  }
  std::vector<std::filesystem::path> candidates;
  if (!dataDir.empty()) candidates.push_back(dataDir / "auth.json");
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run != nullptr && *run == '/') {
    candidates.push_back(std::filesystem::path(run) / "containers" / "auth.json");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    candidates.push_back(std::filesystem::path(home) / ".docker" / "config.json");
  }
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (auto& c : candidates) {
    if (std::filesystem::exists(c, ec)) out.push_back(std::move(c));
  }
  return out;
}

std::optional<std::filesystem::path> Credentials::defaultPath(
    const std::filesystem::path& dataDir) {
  std::vector<std::filesystem::path> all = defaultPaths(dataDir);
  if (all.empty()) return std::nullopt;
  return all.front();
}

Credentials Credentials::loadDefault(const std::filesystem::path& dataDir) {
  Credentials out;
  for (const auto& p : defaultPaths(dataDir)) out.merge(load(p));
  return out;
}

void Credentials::merge(const Credentials& other) {
  for (const auto& [k, v] : other.entries_) entries_.emplace(k, v);
}

void Credentials::add(std::string_view key, Credential credential) {
  entries_[normalizeKey(key)] = std::move(credential);
}

std::optional<Credential> Credentials::find(std::string_view registry,
                                            std::string_view repository) const {
  std::vector<std::string> hosts{std::string(registry)};
  if (registry == "docker.io") {
    hosts.emplace_back("index.docker.io");
    hosts.emplace_back("registry-1.docker.io");
  }
  for (const std::string& host : hosts) {
    std::string_view repo = repository;
    for (;;) {
      std::string key = repo.empty() ? host : host + "/" + std::string(repo);
      if (auto it = entries_.find(key); it != entries_.end()) return it->second;
      if (repo.empty()) break;
      size_t slash = repo.rfind('/');
      repo = slash == std::string_view::npos ? std::string_view() : repo.substr(0, slash);
    }
  }
  return std::nullopt;
}

}  // namespace ferry::registry
