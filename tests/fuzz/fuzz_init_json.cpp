// The pod init's JSON reader (stage2/init/json_lite), differentially against stage0's strict
// parser: the init runs as the pod's PID 1 and reads annotations an image supplied, so the two
// must accept the same documents (up to the init's depth limit of 64) and read the same values
// from them — a text one of them reads differently is how a check in stage0 gets bypassed.
#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/json.hpp"
#include "stage2/init/json_lite.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::fuzz::check;
using ferry::init::JsonValue;
using ferry::json::Json;

int depthOf(const Json& j) {
  int d = 0;
  if (j.is_structured()) {
    for (const auto& item : j) d = std::max(d, depthOf(item));
    return d + 1;
  }
  return 0;
}

// Same document: same types, same strings, same keys in the same order, numbers of equal value.
void same(const JsonValue& lite, const Json& strict, const std::string& text) {
  using Type = JsonValue::Type;
  switch (lite.type) {
    case Type::kNull:
      check(strict.is_null(), "null differs", text);
      break;
    case Type::kBool:
      check(strict.is_boolean() && strict.get<bool>() == lite.boolean, "bool differs", text);
      break;
    case Type::kString:
      check(strict.is_string() && strict.get<std::string>() == lite.text, "string differs", text);
      break;
    case Type::kNumber: {
      check(strict.is_number(), "number differs", text);
      std::optional<int64_t> i = lite.asInt();
      if (strict.is_number_integer() && strict.is_number_unsigned() &&
          strict.get<uint64_t>() > uint64_t{INT64_MAX}) {
        check(!i, "asInt() reads an integer above INT64_MAX", text);
      } else if (strict.is_number_integer()) {
        check(i && *i == strict.get<int64_t>(), "integer differs", text);
      } else {
        // A float (or an integer too large for 64 bits, which nlohmann keeps as a double): the
        // init reads no floats, but must not read one as an integer.
        check(!i, "asInt() reads a float", text);
      }
      break;
    }
    case Type::kArray:
      check(strict.is_array() && strict.size() == lite.items.size(), "array differs", text);
      for (size_t n = 0; n < lite.items.size(); ++n) same(lite.items[n], strict[n], text);
      break;
    case Type::kObject: {
      check(strict.is_object() && strict.size() == lite.fields.size(), "object differs", text);
      size_t n = 0;
      for (const auto& [key, value] : strict.items()) {
        check(lite.fields[n].key == key, "key order differs", text);
        check(lite.get(key) == &lite.fields[n].value, "get() finds another field", text);
        same(lite.fields[n].value, value, text);
        ++n;
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(ferry::fuzz::asText(data, size));
  std::optional<JsonValue> lite = ferry::init::parseJson(text);
  Json strict;
  bool strictOk = ferry::fuzz::expect([&] { strict = ferry::json::parse(text, "fuzz input"); });
  if (strictOk && depthOf(strict) <= 64) {
    check(lite.has_value(), "the init refuses what stage0 accepts", text);
  }
  if (lite) {
    check(strictOk, "the init accepts what stage0 refuses", text);
    same(*lite, strict, text);
  }
  // What the init writes (its status files) it reads back unchanged.
  if (lite && lite->isString()) {
    std::string out;
    ferry::init::appendJsonString(out, lite->text);
    std::optional<JsonValue> back = ferry::init::parseJson(out);
    check(back && back->isString() && back->text == lite->text, "appendJsonString round trip", out);
  }
  return 0;
}
