// registry::parseChallenges on an arbitrary WWW-Authenticate value. What parses holds at least
// one challenge, each with a lowercase token scheme, lowercase parameter names and either a
// token68 or parameters; written back in canonical form (quoted values), it parses to the same.
#include <vector>

#include "discovery/auth.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::fuzz::check;
using ferry::registry::Challenge;

bool isLowerToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string write(const std::vector<Challenge>& challenges) {
  std::string out;
  for (const Challenge& c : challenges) {
    if (!out.empty()) out += ", ";
    out += c.scheme;
    if (c.token68) out += " " + *c.token68;
    bool first = true;
    for (const auto& [name, value] : c.params) {
      out += first ? " " : ", ";
      first = false;
      out += name + "=\"";
      for (char ch : value) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
      }
      out += '"';
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::fuzz::expect([&] {
    std::vector<Challenge> challenges =
        ferry::registry::parseChallenges(ferry::fuzz::asText(data, size));
    check(!challenges.empty(), "no challenge");
    for (const Challenge& c : challenges) {
      check(isLowerToken(c.scheme), "scheme not a lowercase token", c.scheme);
      check(!(c.token68 && !c.params.empty()), "both token68 and parameters", c.scheme);
      if (c.token68) check(!c.token68->empty(), "empty token68", c.scheme);
      for (const auto& [name, value] : c.params) {
        check(isLowerToken(name), "parameter name not a lowercase token", name);
        check(c.param(name) == value, "param()", name);
      }
    }
    std::string text = write(challenges);
    std::vector<Challenge> again = [&] {
      try {
        return ferry::registry::parseChallenges(text);
      } catch (const std::exception& e) {
        check(false, std::string("the challenges written back do not parse: ") + e.what(), text);
        throw;
      }
    }();
    check(again == challenges, "the challenges written back parse differently", text);
  });
  return 0;
}
