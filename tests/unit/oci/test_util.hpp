// Helpers shared by the formats/oci tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"

namespace ferry::oci::test {

inline std::string errorOf(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::string codeOf(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return std::string(errcName(e.code()));
  }
  return "(no error)";
}

inline std::string readData(const std::string& name) {
  return readFile(std::string(FERRY_TEST_DATA) + "/oci/" + name);
}

// JSON equality ignoring key order (our output is in the spec's order, the input may not be).
inline nlohmann::json unordered(const json::Json& j) { return nlohmann::json::parse(j.dump()); }

// The image-spec makes a null optional field equivalent to an absent one; we drop nulls.
inline json::Json withoutNulls(const json::Json& j) {
  if (j.is_object()) {
    json::Json out = json::Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_null()) out[it.key()] = withoutNulls(it.value());
    }
    return out;
  }
  if (j.is_array()) {
    json::Json out = json::Json::array();
    for (const auto& e : j) out.push_back(withoutNulls(e));
    return out;
  }
  return j;
}

// Parses `text`, applies `edit` to the JSON, and returns the edited document's text.
inline std::string edited(const std::string& text, auto&& edit) {
  json::Json j = json::parse(text, "test");
  edit(j);
  return j.dump();
}

}  // namespace ferry::oci::test
