#include "discovery/reference.hpp"

#include <string>

#include "common/error.hpp"

namespace ferry::registry {

namespace {

constexpr size_t kNameTotalLengthMax = 255;
constexpr size_t kTagLengthMax = 128;
constexpr std::string_view kLocalhost = "localhost";
constexpr std::string_view kLegacyDockerHub = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isWordChar(char c) { return isAlnum(c) || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool hasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// One DNS label as Docker allows it: alphanumerics with inner dashes.
bool isDomainComponent(std::string_view c) {
  if (c.empty() || !isAlnum(c.front()) || !isAlnum(c.back())) return false;
  for (char ch : c) {
    if (!isAlnum(ch) && ch != '-') return false;
  }
  return true;
}

bool isValidPort(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  unsigned value = 0;
  for (char c : p) {
    if (!isDigit(c)) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// A whole string of 64 lowercase hex characters: Docker reads it as an image ID, never a name.
bool isIdentifier(std::string_view s) { return s.size() == 64 && isLowerHex(s); }

}  // namespace

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagLengthMax || !isWordChar(tag.front())) return false;
  for (char c : tag) {
    if (!isWordChar(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool isValidRepositoryComponent(std::string_view c) {
  if (c.empty() || !isLowerAlnum(c.front()) || !isLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (isLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !isLowerAlnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
  }
  return true;
}

bool isValidRegistry(std::string_view r) {
  std::string_view host = r;
  std::optional<std::string_view> port;
  if (!r.empty() && r.front() == '[') {
    size_t close = r.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : r.substr(1, close - 1)) {
      bool hex = isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':') return false;
    }
    std::string_view rest = r.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    size_t colon = r.find(':');
    if (colon != std::string_view::npos) {
      host = r.substr(0, colon);
      port = r.substr(colon + 1);
    }
    if (host.empty()) return false;
    size_t start = 0;
    for (;;) {
      size_t dot = host.find('.', start);
      std::string_view label =
          host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (!isDomainComponent(label)) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  return !port || isValidPort(*port);
}

DockerReference DockerReference::parse(std::string_view s) {
  auto fail = [&](const std::string& reason) -> void {
    throw Error(Errc::kInvalid, "invalid docker reference " + quote(s) + ": " + reason);
  };
  std::string_view in = s;
  if (in.starts_with(kDockerScheme)) in.remove_prefix(kDockerScheme.size());
  if (in.empty()) fail("empty reference");
  if (isIdentifier(in)) fail("a 64-character hexadecimal string is an image ID, not a repository");

  DockerReference ref;
  if (size_t at = in.find('@'); at != std::string_view::npos) {
    std::string_view d = in.substr(at + 1);
    try {
      ref.digest_ = Digest::parse(d);
    } catch (const Error&) {
      fail("invalid digest " + quote(d) + " (want sha256:<64 hex> or sha512:<128 hex>)");
    }
    in = in.substr(0, at);
  }
  // A tag follows the last ':' after the last '/' (a ':' before a '/' belongs to a port).
  size_t lastSlash = in.rfind('/');
  size_t colon = in.find(':', lastSlash == std::string_view::npos ? 0 : lastSlash + 1);
  if (colon != std::string_view::npos) {
    std::string_view tag = in.substr(colon + 1);
    if (!isValidTag(tag)) {
      fail("invalid tag " + quote(tag) +
           " (want 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)");
    }
    ref.tag_ = std::string(tag);
    in = in.substr(0, colon);
  }
  if (in.empty()) fail("no repository name");

  std::string_view remote = in;
  ref.registry_ = kDockerHub;
  if (size_t slash = in.find('/'); slash != std::string_view::npos) {
    std::string_view first = in.substr(0, slash);
    if (first == kLocalhost || first.find_first_of(".:") != std::string_view::npos ||
        hasUpper(first)) {
      ref.registry_ = first == kLegacyDockerHub ? kDockerHub : first;
      remote = in.substr(slash + 1);
    }
  }
  if (!isValidRegistry(ref.registry_)) fail("invalid registry " + quote(ref.registry_));
  if (remote.empty()) fail("no repository name");
  if (hasUpper(remote)) fail("repository name " + quote(remote) + " must be lowercase");
  size_t start = 0;
  for (;;) {
    size_t slash = remote.find('/', start);
    std::string_view c = remote.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!isValidRepositoryComponent(c)) {
      fail("invalid repository name component " + quote(c) +
           " (want [a-z0-9] separated by '.', '_', '__' or dashes)");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  ref.repository_ = remote;
  if (ref.registry_ == kDockerHub && remote.find('/') == std::string_view::npos) {
    ref.repository_ = std::string(kOfficialPrefix) + ref.repository_;
  }
  if (ref.registry_.size() + 1 + ref.repository_.size() > kNameTotalLengthMax) {
    fail("name longer than " + std::to_string(kNameTotalLengthMax) + " characters");
  }
  if (!ref.tag_ && !ref.digest_) ref.tag_ = std::string(kDefaultTag);
  return ref;
}

std::string DockerReference::apiHost() const {
  return registry_ == kDockerHub ? std::string(kDockerHubApiHost) : registry_;
}

std::string DockerReference::manifestReference() const { return digest_ ? digest_->str() : *tag_; }

std::string DockerReference::name() const { return registry_ + "/" + repository_; }

std::string DockerReference::str() const {
  std::string out = std::string(kDockerScheme) + name();
  if (tag_) out += ":" + *tag_;
  if (digest_) out += "@" + digest_->str();
  return out;
}

DockerReference DockerReference::withDigest(Digest d) const {
  DockerReference r = *this;
  r.digest_ = std::move(d);
  return r;
}

}  // namespace ferry::registry
