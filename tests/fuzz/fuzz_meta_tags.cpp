// discovery::parseMetaTags on arbitrary HTML. It never throws (not even ferry::Error); every tag
// it returns is "PREFIX URL" with two non-empty words free of whitespace, and a page that holds
// exactly those tags, written back as plain <meta> elements, scans to the same list.
#include <vector>

#include "discovery/meta_tags.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using ferry::discovery::MetaKind;
using ferry::discovery::MetaTag;
using ferry::fuzz::check;

bool hasSpace(const std::string& s) { return s.find_first_of(" \t\n\r\f") != std::string::npos; }

// The attribute value escaped so that the scanner's unescape() gives `s` back.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<MetaTag> tags = ferry::discovery::parseMetaTags(ferry::fuzz::asText(data, size));
  std::string page = "<!doctype html><html><head>\n";
  for (const MetaTag& t : tags) {
    check(!t.prefix.empty() && !t.url.empty(), "empty prefix or URL", t.prefix + " " + t.url);
    check(!hasSpace(t.prefix) && !hasSpace(t.url), "whitespace in a word", t.prefix + " " + t.url);
    page += "<meta name=\"";
    page += t.kind == MetaKind::kDiscovery ? "ac-discovery" : "ac-discovery-pubkeys";
    page += "\" content=\"" + escape(t.prefix) + " " + escape(t.url) + "\">\n";
  }
  page += "</head></html>\n";
  check(ferry::discovery::parseMetaTags(page) == tags, "the tags written back scan differently",
        page);
  return 0;
}
