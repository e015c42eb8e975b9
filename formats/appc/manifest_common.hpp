// Internal helpers shared by the image and pod manifest parsers.
#pragma once

#include <string_view>

#include "common/json.hpp"
#include "formats/appc/labels.hpp"

namespace ferry::appc::detail {

// Reads "acKind" and fails unless it is `expected`.
void requireKind(json::Object& o, std::string_view expected);

// Labels plus the os/arch check the spec puts on every label list.
Labels labelsFromJson(const json::Json& j, std::string_view path);

}  // namespace ferry::appc::detail
