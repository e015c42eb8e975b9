// The body shared by the OCI document targets: T::parse(text, what, ParseOptions) in both modes.
//
// Lenient parse: what parses must round-trip (image-spec types keep unknown fields in `extra`
// and write them back; RuntimeSpec drops them, so its serialization must even pass strictly).
// Strict parse: what parses must round-trip too, and equal the lenient parse (nothing extra).
#pragma once

#include <optional>
#include <string>

#include "formats/oci/parse_options.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace ferry::fuzz {

template <typename T>
void fuzzOciDocument(const uint8_t* data, size_t size, std::string_view what,
                     bool lenientDropsUnknown) {
  using oci::ParseOptions;
  const std::string_view text = asText(data, size);
  auto lenient = [](std::string_view t, std::string_view w) {
    return T::parse(t, w, ParseOptions{.strict = false});
  };
  auto strict = [](std::string_view t, std::string_view w) {
    return T::parse(t, w, ParseOptions{.strict = true});
  };
  std::optional<T> loose;
  expect([&] {
    loose.emplace(lenient(text, "fuzz input"));
    checkRoundTrip(*loose, lenient, std::string(what) + " (lenient)");
    if (lenientDropsUnknown)
      checkRoundTrip(*loose, strict, std::string(what) + " (lenient→strict)");
  });
  expect([&] {
    T s = strict(text, "fuzz input");
    checkRoundTrip(s, strict, std::string(what) + " (strict)");
    check(loose.has_value(), std::string(what) + ": parses strictly but not leniently");
    check(s == *loose, std::string(what) + ": strict and lenient parses differ");
  });
}

}  // namespace ferry::fuzz
