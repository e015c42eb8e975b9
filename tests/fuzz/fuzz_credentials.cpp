// registry::Credentials::parse on an arbitrary auth.json. Every credential it keeps has a user
// name, can be found again by its key (normalized), and its Basic authorization decodes back
// to "user:password".
#include <string>

#include "discovery/auth.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::fuzz::check;
using ferry::registry::Credential;
using ferry::registry::Credentials;

void checkCredential(const Credential& c, const std::string& key) {
  check(!c.username.empty(), "a credential without a user name", key);
  std::string header = ferry::registry::basicAuthorization(c);
  check(header.starts_with("Basic "), "basicAuthorization() prefix", header);
  auto decoded = ferry::registry::base64Decode(std::string_view(header).substr(6));
  check(decoded == c.username + ":" + c.password, "base64 does not round-trip", header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = ferry::fuzz::asText(data, size);
  ferry::fuzz::expect([&] {
    Credentials creds = Credentials::parse(text, "fuzz input");
    ferry::json::Json doc = ferry::json::parse(text, "fuzz input");
    auto auths = doc.find("auths");
    size_t keys = auths == doc.end() || auths->is_null() ? 0 : auths->size();
    check(creds.size() <= keys, "more credentials than keys");
    check(creds.empty() == (creds.size() == 0), "empty()");
    if (keys == 0) return;
    for (const auto& item : auths->items()) {
      std::string key = item.key();
      // Normalized the way add() does it, then looked up as a registry.
      for (std::string_view scheme : {"https://", "http://"}) {
        if (key.starts_with(scheme)) {
          key = key.substr(scheme.size());
          key = key.substr(0, key.find('/'));
          break;
        }
      }
      while (key.ends_with('/')) key.pop_back();
      std::optional<Credential> found = creds.find(key);
      if (found) checkCredential(*found, key);
      size_t slash = key.find('/');
      if (slash != std::string::npos) {
        if (auto c = creds.find(key.substr(0, slash), key.substr(slash + 1))) {
          checkCredential(*c, key);
        }
      }
    }
    if (auto c = creds.find("docker.io", "library/busybox")) checkCredential(*c, "docker.io");
  });
  // base64 on the raw input: what decodes encodes to text that decodes to the same bytes.
  if (auto decoded = ferry::registry::base64Decode(text)) {
    std::string encoded = ferry::registry::base64Encode(*decoded);
    check(ferry::registry::base64Decode(encoded) == decoded, "base64Decode(base64Encode())",
          encoded);
  }
  return 0;
}
