#pragma once

#include <string>

#include "common/error.hpp"
#include "common/json.hpp"

namespace ferry::mds::test {

inline constexpr const char* kUuid = "6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
inline constexpr const char* kToken =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
inline constexpr const char* kMainId =
    "sha512-"
    "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
    "111111111111111111111111111111111111";
inline constexpr const char* kSideId =
    "sha512-"
    "22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
    "222222222222222222222222222222222222";

// A registration of a two-app pod: "main" (image and pod annotations to merge) and "side".
inline json::Json registration(const std::string& token = kToken, const std::string& uuid = kUuid) {
  return json::parse(R"({
    "mdsRegistrationVersion": 1, "type": "register",
    "uuid": ")" + uuid + R"(", "token": ")" +
                         token + R"(",
    "podManifest": {
      "acVersion": "0.8.11", "acKind": "PodManifest",
      "apps": [
        {"name": "main", "image": {"id": ")" +
                         std::string(kMainId) + R"("},
         "annotations": [{"name": "lorem", "value": "pod-wins"}, {"name": "extra", "value": "x"}]},
        {"name": "side", "image": {"id": ")" +
                         std::string(kSideId) + R"("}}
      ],
      "annotations": [{"name": "ip-address", "value": "10.1.2.3"},
                      {"name": "example.com/role", "value": "db"}]
    },
    "apps": {
      "main": {"imageManifest": {"acKind": "ImageManifest", "acVersion": "0.8.11",
               "name": "example.com/main",
               "annotations": [{"name": "authors", "value": "Carly"},
                               {"name": "lorem", "value": "ipsum"}]}},
      "side": {"imageManifest": {"acKind": "ImageManifest", "acVersion": "0.8.11",
               "name": "example.com/side"}}
    }
  })",
                     "test registration");
}

template <typename Fn>
std::string errorOf(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace ferry::mds::test
