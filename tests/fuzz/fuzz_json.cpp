// The strict JSON parser: json::parse on arbitrary text. What parses must dump and parse back
// to an equal document (compact and pretty), and the checked accessors and Object must only
// ever fail with ferry::Error.
#include "common/json.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::fuzz::check;
using ferry::fuzz::expect;
using ferry::json::Json;

// Calls every accessor on every value; the results are not checked, only how they fail.
void walk(const Json& j, const std::string& path, int depth) {
  namespace json = ferry::json;
  expect([&] { json::asString(j, path); });
  expect([&] { json::asBool(j, path); });
  expect([&] { json::asInt(j, path, -1000, 1000); });
  expect([&] { json::asInt(j, path); });
  expect([&] { json::asUint(j, path, 65535); });
  expect([&] { json::asUint(j, path); });
  expect([&] { json::asArray(j, path); });
  if (depth > 64) return;
  if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) walk(j[i], json::index(path, i), depth + 1);
  } else if (j.is_object()) {
    json::Object o(j, path);
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      check(o.has(key), "Object::has", key);
      walk(value, o.pathOf(key), depth + 1);
      if (first) {
        o.require(key);
        first = false;
      }
    }
    bool ok = expect([&] { o.done(); });
    check(ok == (j.size() <= 1), "Object::done with one key read", json::dump(j));
    check(o.unreadKeys().size() == (j.empty() ? 0 : j.size() - 1), "Object::unreadKeys");
    o.ignoreRest();
    o.done();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace json = ferry::json;
  Json j;
  if (!expect([&] { j = json::parse(ferry::fuzz::asText(data, size), "fuzz input"); })) return 0;
  for (bool pretty : {false, true}) {
    std::string text = json::dump(j, pretty);
    Json again;
    bool ok = expect([&] { again = json::parse(text, "round-trip"); });
    check(ok, "dump() does not parse back", text);
    check(again == j, "parse(dump()) differs", text);
    check(json::dump(again, pretty) == text, "dump() is not stable", text);
  }
  walk(j, "", 0);
  return 0;
}
