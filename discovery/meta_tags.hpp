// The `<meta>` tags of an appc discovery page.
//
// A discovery page is HTML holding
//   <meta name="ac-discovery" content="PREFIX URL-TEMPLATE">
//   <meta name="ac-discovery-pubkeys" content="PREFIX URL">
// The scanner is a small, forgiving HTML tokenizer, not a parser: tag and attribute names in
// any case, attributes in any order, single, double or no quotes, character references in
// values, self-closing tags; comments, doctypes and the text of script/style/title/textarea are
// skipped so that a tag written inside them does not count. It is linear in the input, never
// throws on malformed input, and ignores every other meta tag and every tag it cannot make
// sense of (a tag cut off by the end of the input included).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::discovery {

enum class MetaKind {
  kDiscovery,   // ac-discovery: url is a template
  kPublicKeys,  // ac-discovery-pubkeys: url is a plain URL
};

struct MetaTag {
  MetaKind kind;
  std::string prefix;
  std::string url;
  friend bool operator==(const MetaTag&, const MetaTag&) = default;
};

// The ac-discovery and ac-discovery-pubkeys tags in document order. A tag whose content is not
// "PREFIX URL" (two words separated by whitespace) is skipped.
std::vector<MetaTag> parseMetaTags(std::string_view html);

}  // namespace ferry::discovery
