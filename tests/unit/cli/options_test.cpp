// ferry's option parser: the accepted forms, usage errors, --help, and the help text's layout.
#include "stage0/cli/options.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace ferry::cli {
namespace {

struct Parsed {
  bool on = false;
  std::string name;
  std::vector<std::string> list;
};

OptionParser parser(Parsed& p) {
  OptionParser o("ferry x [flags] ARG", "Does x.");
  o.flag("on", "turn it on", &p.on);
  o.value("name", "NAME", "a name", &p.name);
  o.heading("More flags");
  o.value("item", "A,…", "an item (repeatable)",
          [&p](std::string_view v) { p.list.emplace_back(v); });
  o.positionals(1, 2);
  return o;
}

TEST(Options, AcceptsEveryForm) {
  Parsed p;
  OptionParser o = parser(p);
  auto pos = o.parse({"--on=false", "--name", "n1", "a", "--item=x", "--item", "y", "--", "--b"});
  EXPECT_FALSE(p.on);
  EXPECT_EQ(p.name, "n1");
  EXPECT_EQ(p.list, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(pos, (std::vector<std::string>{"a", "--b"}));
  Parsed q;
  OptionParser o2 = parser(q);
  o2.parse({"--on", "a"});
  EXPECT_TRUE(q.on);
}

TEST(Options, AnOptionalValueIsTakenOnlyAfterEquals) {
  std::vector<std::string> seen;
  OptionParser o("ferry x [flags] ARG", "Does x.");
  o.optionalValue("users", "auto|UID:COUNT", "maybe a value",
                  [&seen](std::string_view v) { seen.emplace_back(v); });
  auto pos = o.parse({"--users", "image", "--users=auto", "--users="});
  EXPECT_EQ(pos, (std::vector<std::string>{"image"}));  // never the next word
  EXPECT_EQ(seen, (std::vector<std::string>{"", "auto", ""}));
  EXPECT_NE(o.helpText().find("--users[=auto|UID:COUNT]"), std::string::npos) << o.helpText();
}

TEST(Options, UsageErrors) {
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{{"--nope", "a"},
                                                                            {"--on=maybe", "a"},
                                                                            {"a", "--name"},
                                                                            {},
                                                                            {"a", "b", "c"},
                                                                            {"--More flags", "a"},
                                                                            {"--=x", "a"}}) {
    Parsed p;
    OptionParser o = parser(p);
    EXPECT_THROW(o.parse(bad), UsageError) << (bad.empty() ? "(none)" : bad[0]);
  }
}

TEST(Options, ParseFlagStepsThroughFlagsAndTheirValuesOnly) {
  Parsed p;
  bool opt = false;
  OptionParser o = parser(p);
  o.optionalValue("net", "host|none", "maybe a value", [&opt](std::string_view) { opt = true; });
  std::vector<std::string> args{"--on", "--name", "img", "--net", "img2", "--", "---", "-", "x"};
  size_t i = 0;
  EXPECT_TRUE(o.parseFlag(args, i));  // --on: no value
  EXPECT_EQ(i, 0u);
  i = 1;
  EXPECT_TRUE(o.parseFlag(args, i));  // --name takes "img"
  EXPECT_EQ(i, 2u);
  EXPECT_EQ(p.name, "img");
  i = 3;
  EXPECT_TRUE(o.parseFlag(args, i));  // a bare --net never takes "img2"
  EXPECT_EQ(i, 3u);
  EXPECT_TRUE(opt);
  for (size_t k : {4u, 5u, 6u, 7u, 8u}) {
    size_t j = k;
    EXPECT_FALSE(o.parseFlag(args, j)) << args[k];
    EXPECT_EQ(j, k);
  }
  EXPECT_TRUE(o.takesValue("name"));
  EXPECT_FALSE(o.takesValue("on"));
  EXPECT_FALSE(o.takesValue("net"));
  EXPECT_FALSE(o.takesValue("nope"));
  std::vector<std::string> unknown{"-x"};
  i = 0;
  EXPECT_THROW(o.parseFlag(unknown, i), UsageError);
}

TEST(Options, ValuesAndArgumentsMustBeUtf8) {
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"--name=a\xff"
                                              "b",
                                              "a"},
                                             {"--name", "\xc3", "a"},
                                             {"\xed\xa0\x80"},                    // a surrogate
                                             {"\xc0\xaf"},                        // overlong "/"
                                             {"a", "--", "\xf4\x90\x80\x80"}}) {  // above U+10FFFF
    Parsed p;
    OptionParser o = parser(p);
    EXPECT_THROW(o.parse(bad), UsageError) << bad[0];
  }
  Parsed p;
  OptionParser o = parser(p);
  EXPECT_EQ(o.parse({"--name=\xc3\xa9t\xc3\xa9", "\xe2\x80\xa6\xf0\x9f\x9a\xa2"}),
            std::vector<std::string>{"\xe2\x80\xa6\xf0\x9f\x9a\xa2"});
  EXPECT_EQ(p.name, "\xc3\xa9t\xc3\xa9");
  try {
    Parsed q;
    OptionParser o2 = parser(q);
    o2.parse({"--name=\xff", "a"});
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--name: the value is not UTF-8");
  }
  try {
    Parsed q;
    OptionParser o2 = parser(q);
    o2.parse({"--on=maybe", "a"});
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--on: want true or false, not \"maybe\"");
  }
}

TEST(Options, AFlagDeclaredTwiceIsAProgrammingError) {
  Parsed p;
  OptionParser o = parser(p);
  EXPECT_THROW(o.flag("name", "again", &p.on), std::logic_error);
  EXPECT_THROW(o.optionalValue("on", "X", "again", [](std::string_view) {}), std::logic_error);
}

TEST(Options, HelpIsPrintedNotParsed) {
  Parsed p;
  OptionParser o = parser(p);
  std::ostringstream out;
  std::vector<std::string> pos{"untouched"};
  EXPECT_FALSE(o.parseOrHelp({"--name", "n", "--help", "--nope"}, out, &pos));
  EXPECT_EQ(pos, std::vector<std::string>{"untouched"});
  EXPECT_NE(out.str().find("Usage: ferry x [flags] ARG"), std::string::npos);
  Parsed q;
  OptionParser o2 = parser(q);
  std::ostringstream none;
  EXPECT_TRUE(o2.parseOrHelp({"a"}, none, &pos));
  EXPECT_EQ(none.str(), "");
  EXPECT_EQ(pos, std::vector<std::string>{"a"});
}

TEST(Options, HelpColumnsLineUpWithHeadingsAndWideCharacters) {
  Parsed p;
  OptionParser o = parser(p);
  EXPECT_EQ(o.helpText(),
            "Usage: ferry x [flags] ARG\n\nDoes x.\n\nFlags:\n"
            "  --on         turn it on\n"
            "  --name=NAME  a name\n"
            "\nMore flags:\n"
            "  --item=A,…   an item (repeatable)\n"
            "  --help       show this help\n");
}

TEST(Options, AVeryWideFlagGetsItsTextOnTheNextLine) {
  std::string out;
  OptionParser o("ferry y", "Does y.");
  o.value("a-very-long-flag-name-indeed", "VALUE", "wide", &out);
  o.value("short", "V", "narrow", &out);
  EXPECT_EQ(o.helpText(),
            "Usage: ferry y\n\nDoes y.\n\nFlags:\n"
            "  --a-very-long-flag-name-indeed=VALUE\n"
            "             wide\n"
            "  --short=V  narrow\n"
            "  --help     show this help\n");
}

}  // namespace
}  // namespace ferry::cli
