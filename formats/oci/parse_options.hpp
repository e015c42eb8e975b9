// How strictly to parse an image-spec document.
//
// The image-spec says that implementations processing content "MUST NOT generate an error if
// they encounter an unknown property in a known media type" (considerations.md) and that extra
// fields in an image configuration are implementation specific and to be ignored (config.md).
// So by default an unknown field is kept verbatim in the type's `extra` member, which serializes
// back after the known fields; `strict` turns it into an error naming its JSON path (for
// documents ferry writes itself, and for validation). Invalid values of known fields are errors
// in both modes.
#pragma once

namespace ferry::oci {

struct ParseOptions {
  bool strict = false;
};

}  // namespace ferry::oci
