#include "common/json.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace ferry::json {
namespace {

std::string errorOf(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Json, RejectsDuplicateKeys) {
  EXPECT_EQ(errorOf([] { parse(R"({"a":1,"b":{"c":1,"c":2}})", "doc"); }),
            "cannot parse doc: duplicate key \"c\"");
  EXPECT_NO_THROW(parse(R"({"a":{"c":1},"b":{"c":2}})", "doc"));
  EXPECT_NO_THROW(parse(R"([{"c":1},{"c":2}])", "doc"));
  // The empty string is a key like any other (found by fuzz.init_json: stage0 read the last
  // value where the pod init refused the document).
  EXPECT_EQ(errorOf([] { parse(R"({"":1,"":86400})", "doc"); }),
            "cannot parse doc: duplicate key \"\"");
}

TEST(Json, RejectsGarbage) {
  EXPECT_NE(errorOf([] { parse("{\"a\":1} x", "doc"); }).find("cannot parse doc: "),
            std::string::npos);
  EXPECT_NE(errorOf([] { parse("{\"a\":\"\xff\"}", "doc"); }).find("cannot parse doc"),
            std::string::npos);
  // nlohmann stops at a NUL byte: what follows it must not be silently dropped.
  using namespace std::string_view_literals;
  EXPECT_EQ(errorOf([] { parse("{}\0{\"x\":1}"sv, "doc"); }),
            "cannot parse doc: NUL byte at offset 2");
  EXPECT_NE(errorOf([] { parse("0\0\0\x1e\"]"sv, "doc"); }), "");
}

TEST(Json, PathsNameTheField) {
  EXPECT_EQ(child("app", "exec"), "app.exec");
  EXPECT_EQ(child("", "exec"), "exec");
  EXPECT_EQ(child("labels", "a.b"), "labels[\"a.b\"]");
  EXPECT_EQ(index("app.exec", 3), "app.exec[3]");
}

TEST(Json, ObjectReportsUnknownAndMissingFields) {
  Json j = parse(R"({"name":"x","count":3,"extra":true})", "doc");
  Object o(j, "app");
  EXPECT_EQ(o.string("name"), "x");
  EXPECT_EQ(o.integer("count", 0, 10), 3);
  EXPECT_EQ(errorOf([&] { o.done(); }), "app.extra: unknown field");
  EXPECT_EQ(errorOf([&] { o.string("missing"); }), "app.missing: required field is missing");
  EXPECT_EQ(errorOf([&] { o.integer("count", 5, 10); }), "app.count: must be between 5 and 10");
  EXPECT_EQ(errorOf([&] { o.string("count"); }), "app.count: must be a string, not an integer");
  o.ignoreRest();
  EXPECT_NO_THROW(o.done());
}

TEST(Json, UnsignedChecks) {
  Json j = parse(R"({"n":-1,"big":18446744073709551615})", "doc");
  Object o(j, "");
  EXPECT_EQ(errorOf([&] { o.uinteger("n"); }), "n: must not be negative");
  EXPECT_EQ(o.uinteger("big"), UINT64_MAX);
  EXPECT_EQ(errorOf([&] { o.integer("big"); }), "big: is out of range");
}

TEST(Json, PrintEscapesWhatATerminalActsOn) {
  // DEL and C1 (U+009B is CSI) are valid in JSON strings and the encoder leaves them raw.
  json::Json j = {{"label",
                   "a\x7f"
                   "b\xc2\x9b"
                   "31m\xc2\x80\xc2\x9f\xc2\xa0\xc3\xa9"}};
  std::string raw = json::dump(j);
  EXPECT_NE(raw.find("\xc2\x9b"), std::string::npos);
  std::string out = json::print(j);
  EXPECT_EQ(out, R"({"label":"a\u007fb\u009b31m\u0080\u009f)"
                 "\xc2\xa0\xc3\xa9"
                 R"("})");
  // It reads back as the same document.
  EXPECT_EQ(json::parse(out, "printed"), j);
  // Text with nothing to escape comes back as it was.
  EXPECT_EQ(json::escapeTerminalControls("{\"a\":\"\xc3\xa9\"}"), "{\"a\":\"\xc3\xa9\"}");
}

}  // namespace
}  // namespace ferry::json
