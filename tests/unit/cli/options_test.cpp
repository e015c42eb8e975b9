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
