// Helpers for the translator tests: golden files under tests/data/translate/<direction>/<case>/,
// a line diff for readable mismatches, and JSON-path bookkeeping for the round-trip properties
// (which compare two documents and check that every difference lies under a field the loss
// report names).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "formats/appc/image_manifest.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/translate/oci_to_aci.hpp"
#include "formats/translate/report.hpp"

namespace ferry::translate::test {

// tests/data/translate/<direction>.
std::filesystem::path dataDir(std::string_view direction);
// The case directories of a direction, sorted by name.
std::vector<std::string> listCases(std::string_view direction);

std::optional<std::string> readFile(const std::filesystem::path& p);  // nullopt if absent
void writeFile(const std::filesystem::path& p, const std::string& text);

// True when FERRY_UPDATE_GOLDEN=1: goldens are rewritten instead of compared.
bool updatingGoldens();

// A unified-style line diff ("--- expected", "+++ actual", @@ hunks with 3 lines of context);
// empty when the texts are equal.
std::string unifiedDiff(std::string_view expected, std::string_view actual,
                        std::string_view expectedName, std::string_view actualName);

// The pretty JSON form goldens hold (two-space indentation, trailing newline).
std::string pretty(const json::Json& j);

// Inputs of one oci-to-aci case.
struct OciCase {
  oci::ImageConfig config;
  AciIdentity identity;
  UserDatabase users;
};
appc::ImageManifest loadManifest(const std::filesystem::path& dir);
OciCase loadOciCase(const std::filesystem::path& dir);

// The JSON paths (in json::child/json::index form) where a and b differ: a value present on one
// side only, or unequal scalars. Objects are compared key by key, arrays index by index.
std::vector<std::string> differences(const json::Json& a, const json::Json& b,
                                     const std::string& path = "");
// A JSON path's keys and indices: `a.b["x.y"][2]` → {"a", "b", "x.y", "[2]"}. A key may be
// written either way (the translators bracket some identifiers json::child would not).
std::vector<std::string> pathSegments(std::string_view path);
// True when `path` is `field` or lies below it.
bool covers(std::string_view field, std::string_view path);

// A gtest-friendly name for a case directory ("docker-nginx" → "docker_nginx").
std::string testName(std::string_view caseName);

}  // namespace ferry::translate::test
