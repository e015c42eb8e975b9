// The template steps of appc discovery on arbitrary text. The input is lines: the image string
// (parsed by parseAppcImageRef; "example.com/app" when it does not parse), then extra variables
// as "name=value" separated by '\t', then one meta tag per line, "PREFIX URL-TEMPLATE" for
// ac-discovery or "! PREFIX URL" for ac-discovery-pubkeys.
//
// Checked: a variable's value never adds a character that changes the structure of the URL (the
// expansion with values and the one with empty values hold the same number of each), the first
// definition of a variable wins, and renderEndpoints/publicKeyUrls return what their contracts
// say: rendered templates that apply, {ext} filled in with "aci" and "aci.asc", no duplicates.
#include <algorithm>
#include <array>
#include <vector>

#include "discovery/appc_templates.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using namespace ferry::discovery;
using ferry::fuzz::check;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

void checkExpansion(std::string_view tmpl, const TemplateVars& vars) {
  std::optional<Expansion> e = expandTemplate(tmpl, vars);
  TemplateVars empty = vars;
  for (auto& v : empty) v.second.clear();
  std::optional<Expansion> bare = expandTemplate(tmpl, empty);
  check(e.has_value() == bare.has_value(), "whether a template renders depends on the values",
        tmpl);
  if (!e) return;
  check(e->labelsUsed == bare->labelsUsed, "labelsUsed depends on the values", tmpl);
  check(e->labelsUsed <= vars.size(), "more labels used than variables", tmpl);
  // Every byte a value must not hold literally (what is not alphanumeric or "-._~!$&'()*+,;=:@/",
  // and not the '%' of an escape) comes from the template alone.
  std::array<size_t, 256> withValues{}, bareCounts{};
  for (char c : e->url) ++withValues[static_cast<unsigned char>(c)];
  for (char c : bare->url) ++bareCounts[static_cast<unsigned char>(c)];
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || std::string_view("-._~!$&'()*+,;=:@/%").find(c) != std::string_view::npos)
      continue;
    check(withValues[b] == bareCounts[b],
          "a value added the character " + std::to_string(b) + " to the URL", e->url);
  }
  if (tmpl.find('{') == std::string_view::npos) {
    check(e->url == tmpl && e->labelsUsed == 0, "a template without variables changed", tmpl);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string_view> lines = split(ferry::fuzz::asText(data, size), '\n');
  const ferry::appc::OciPlatform host{"linux", "amd64", ""};
  AppcImageRef ref = parseAppcImageRef("example.com/app", host);
  ferry::fuzz::expect([&] { ref = parseAppcImageRef(lines[0], host); });

  TemplateVars vars{{"ext", "aci"}, {"name", ref.name.str()}};
  for (const auto& label : ref.labels) vars.emplace_back(label.name.str(), label.value);
  if (lines.size() > 1) {
    for (std::string_view v : split(lines[1], '\t')) {
      size_t eq = v.find('=');
      if (eq == std::string_view::npos) continue;
      vars.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
    }
  }

  std::vector<MetaTag> tags;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    MetaKind kind = MetaKind::kDiscovery;
    if (line.starts_with("! ")) {
      kind = MetaKind::kPublicKeys;
      line.remove_prefix(2);
    }
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    tags.push_back(
        MetaTag{kind, std::string(line.substr(0, space)), std::string(line.substr(space + 1))});
    checkExpansion(tags.back().url, vars);
    // The first definition of a variable wins: a later one changes nothing.
    TemplateVars shadowed = vars;
    for (const auto& v : vars) shadowed.emplace_back(v.first, v.second + "#shadow");
    check(expandTemplate(tags.back().url, shadowed).has_value() ==
                  expandTemplate(tags.back().url, vars).has_value() &&
              (!expandTemplate(tags.back().url, vars) ||
               expandTemplate(tags.back().url, shadowed)->url ==
                   expandTemplate(tags.back().url, vars)->url),
          "a later definition of a variable was used", tags.back().url);
  }

  std::vector<Endpoint> endpoints = renderEndpoints(tags, ref);
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const Endpoint& e = endpoints[i];
    check(std::find(endpoints.begin() + static_cast<std::ptrdiff_t>(i) + 1, endpoints.end(), e) ==
              endpoints.end(),
          "duplicate endpoint", e.aci);
    check(e.asc.size() > e.aci.size() && (e.asc.size() - e.aci.size()) % 4 == 0,
          "asc is not aci with \".asc\" for each {ext}", e.aci + " " + e.asc);
    bool fromTag = std::any_of(tags.begin(), tags.end(), [&](const MetaTag& t) {
      return t.kind == MetaKind::kDiscovery && prefixMatches(t.prefix, ref.name.str()) &&
             t.url.find("{ext}") != std::string::npos;
    });
    check(fromTag, "an endpoint without an applicable ac-discovery tag", e.aci);
  }
  std::vector<std::string> keys = publicKeyUrls(tags, ref.name.str());
  for (size_t i = 0; i < keys.size(); ++i) {
    check(std::count(keys.begin(), keys.end(), keys[i]) == 1, "duplicate key URL", keys[i]);
    check(std::any_of(tags.begin(), tags.end(),
                      [&](const MetaTag& t) {
                        return t.kind == MetaKind::kPublicKeys && t.url == keys[i] &&
                               prefixMatches(t.prefix, ref.name.str());
                      }),
          "a key URL without an applicable tag", keys[i]);
  }
  for (const std::string& prefix : namePrefixes(ref.name.str())) {
    check(prefixMatches(prefix, ref.name.str()), "a name prefix that does not match", prefix);
  }
  return 0;
}
