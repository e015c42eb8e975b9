#include "discovery/meta_tags.hpp"

#include <optional>
#include <utility>

namespace ferry::discovery {

namespace {

char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerChar(c);
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// "&#38;", "&#x26;": the code point, or nullopt when not a valid one.
std::optional<uint32_t> numericReference(std::string_view digits, bool hex) {
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  uint32_t cp = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (hex && lowerChar(c) >= 'a' && lowerChar(c) <= 'f') {
      d = lowerChar(c) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
    if (cp > 0x10FFFF) return std::nullopt;
  }
  if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

// Decodes the character references a URL in an attribute is likely to hold; anything else is
// kept as written.
std::string unescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    std::string_view rest = s.substr(i + 1);
    bool done = false;
    for (const auto& [name, c] : kNamed) {
      if (rest.starts_with(name)) {
        out += c;
        i += 1 + name.size();
        done = true;
        break;
      }
    }
    if (!done && rest.starts_with('#')) {
      bool hex = rest.size() > 1 && lowerChar(rest[1]) == 'x';
      size_t start = hex ? 2 : 1;
      size_t semi = rest.find(';', start);
      if (semi != std::string_view::npos) {
        if (auto cp = numericReference(rest.substr(start, semi - start), hex)) {
          appendUtf8(out, *cp);
          i += 1 + semi + 1;
          done = true;
        }
      }
    }
    if (!done) out += s[i++];
  }
  return out;
}

// Walks the input once; `pos_` only moves forward.
class Scanner {
 public:
  explicit Scanner(std::string_view html) : html_(html), lower_(lower(html)) {}

  std::vector<MetaTag> run() {
    std::vector<MetaTag> tags;
    while (true) {
      size_t lt = html_.find('<', pos_);
      if (lt == std::string_view::npos) break;
      pos_ = lt + 1;
      if (startsWith("!--")) {
        if (!skipPast("-->", pos_ + 3)) break;
        continue;
      }
      if (startsWith("!") || startsWith("?")) {  // doctype, CDATA, processing instruction
        if (!skipPast(">", pos_)) break;
        continue;
      }
      bool closing = startsWith("/");
      if (closing) ++pos_;
      if (pos_ >= html_.size() || !isAlpha(html_[pos_])) continue;  // text such as "a < b"
      size_t nameStart = pos_;
      while (pos_ < html_.size() && !isSpace(html_[pos_]) && html_[pos_] != '/' &&
             html_[pos_] != '>') {
        ++pos_;
      }
      std::string tag = lower_.substr(nameStart, pos_ - nameStart);
      Attributes attributes;
      if (!readAttributes(attributes)) break;  // cut off by the end of the input
      if (closing) continue;
      if (tag == "meta") addMeta(attributes, tags);
      if (tag == "script" || tag == "style" || tag == "title" || tag == "textarea") {
        if (!skipPast("</" + tag, pos_)) break;
      }
    }
    return tags;
  }

 private:
  bool startsWith(std::string_view s) const {
    return std::string_view(html_).substr(pos_).starts_with(s);
  }

  // Moves past the next `needle` (searched case-insensitively) at or after `from`.
  bool skipPast(const std::string& needle, size_t from) {
    size_t at = lower_.find(needle, std::min(from, lower_.size()));
    if (at == std::string::npos) return false;
    pos_ = at + needle.size();
    return true;
  }

  // The attributes a meta tag is judged by; the first occurrence of a name wins, as in HTML.
  struct Attributes {
    std::optional<std::string> name;
    std::optional<std::string> content;
  };

  // Reads attributes up to and including the tag's '>'.
  bool readAttributes(Attributes& out) {
    const size_t n = html_.size();
    while (true) {
      while (pos_ < n && (isSpace(html_[pos_]) || html_[pos_] == '/')) ++pos_;
      if (pos_ >= n) return false;
      if (html_[pos_] == '>') {
        ++pos_;
        return true;
      }
      size_t nameStart = pos_++;  // a leading '=' belongs to the name, as in HTML
      while (pos_ < n && !isSpace(html_[pos_]) && html_[pos_] != '/' && html_[pos_] != '>' &&
             html_[pos_] != '=') {
        ++pos_;
      }
      std::string_view name = std::string_view(lower_).substr(nameStart, pos_ - nameStart);
      std::optional<std::string>* slot = nullptr;
      if (name == "name" && !out.name) slot = &out.name;
      if (name == "content" && !out.content) slot = &out.content;
      size_t afterName = pos_;
      while (pos_ < n && isSpace(html_[pos_])) ++pos_;
      std::string_view value;
      if (pos_ < n && html_[pos_] == '=') {
        ++pos_;
        while (pos_ < n && isSpace(html_[pos_])) ++pos_;
        if (pos_ >= n) return false;
        char quoteChar = html_[pos_];
        if (quoteChar == '"' || quoteChar == '\'') {
          size_t close = html_.find(quoteChar, pos_ + 1);
          if (close == std::string_view::npos) return false;
          value = html_.substr(pos_ + 1, close - pos_ - 1);
          pos_ = close + 1;
        } else {
          size_t start = pos_;
          while (pos_ < n && !isSpace(html_[pos_]) && html_[pos_] != '>') ++pos_;
          value = html_.substr(start, pos_ - start);
        }
      } else {
        pos_ = afterName;  // an attribute without a value
      }
      if (slot != nullptr) *slot = unescape(value);
    }
  }

  static void addMeta(const Attributes& attributes, std::vector<MetaTag>& tags) {
    if (!attributes.name || !attributes.content) return;
    std::string kindName = lower(trim(*attributes.name));
    MetaKind kind;
    if (kindName == "ac-discovery") {
      kind = MetaKind::kDiscovery;
    } else if (kindName == "ac-discovery-pubkeys") {
      kind = MetaKind::kPublicKeys;
    } else {
      return;
    }
    std::string_view words = trim(*attributes.content);
    size_t space = 0;
    while (space < words.size() && !isSpace(words[space])) ++space;
    std::string_view prefix = words.substr(0, space);
    std::string_view url = trim(words.substr(space));
    if (prefix.empty() || url.empty()) return;
    for (char c : url) {
      if (isSpace(c)) return;  // three words or more: not "PREFIX URL"
    }
    tags.push_back(MetaTag{kind, std::string(prefix), std::string(url)});
  }

  std::string_view html_;
  std::string lower_;  // html_ in ASCII lowercase: same offsets
  size_t pos_ = 0;
};

}  // namespace

std::vector<MetaTag> parseMetaTags(std::string_view html) { return Scanner(html).run(); }

}  // namespace ferry::discovery
