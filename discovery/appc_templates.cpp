#include "discovery/appc_templates.hpp"

#include <algorithm>

namespace ferry::discovery {

namespace {

// Kept literally: unreserved and reserved characters of RFC 3986 except "#?[]".
bool isLiteral(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

void appendEscaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (isLiteral(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

std::vector<Endpoint> render(const std::vector<MetaTag>& tags, const appc::AcIdentifier& name,
                             const appc::Labels& labels) {
  TemplateVars vars{{"ext", ""}, {"name", name.str()}};
  for (const auto& label : labels) vars.emplace_back(label.name.str(), label.value);
  std::vector<Endpoint> best;
  size_t bestLabels = 0;
  for (const auto& tag : tags) {
    if (tag.kind != MetaKind::kDiscovery || !prefixMatches(tag.prefix, name.str())) continue;
    if (tag.url.find("{ext}") == std::string::npos) continue;  // the spec requires it
    vars[0].second = "aci";
    auto aci = expandTemplate(tag.url, vars);
    vars[0].second = "aci.asc";
    auto asc = expandTemplate(tag.url, vars);
    if (!aci || !asc) continue;
    if (best.empty() || aci->labelsUsed > bestLabels) {
      best.clear();
      bestLabels = aci->labelsUsed;
    } else if (aci->labelsUsed < bestLabels) {
      continue;
    }
    Endpoint endpoint{std::move(aci->url), std::move(asc->url)};
    if (std::find(best.begin(), best.end(), endpoint) == best.end()) {
      best.push_back(std::move(endpoint));
    }
  }
  return best;
}

}  // namespace

std::vector<std::string> namePrefixes(std::string_view name) {
  std::vector<std::string> out;
  std::string_view rest = name;
  while (!rest.empty()) {
    out.emplace_back(rest);
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) break;
    rest = rest.substr(0, slash);
    while (rest.ends_with('/')) rest.remove_suffix(1);  // "a//b": no empty component
  }
  return out;
}

bool prefixMatches(std::string_view metaPrefix, std::string_view name) {
  return name.starts_with(metaPrefix);
}

std::optional<Expansion> expandTemplate(std::string_view tmpl, const TemplateVars& vars) {
  Expansion out;
  std::vector<std::string_view> used;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find('{', i);
    size_t close = open == std::string_view::npos ? open : tmpl.find('}', open + 1);
    if (close == std::string_view::npos) {  // no (complete) variable left
      out.url += tmpl.substr(i);
      break;
    }
    out.url += tmpl.substr(i, open - i);
    std::string_view var = tmpl.substr(open + 1, close - open - 1);
    auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == var; });
    if (it == vars.end()) return std::nullopt;
    appendEscaped(out.url, it->second);
    if (var != "name" && var != "ext" && std::find(used.begin(), used.end(), var) == used.end()) {
      used.push_back(var);
    }
    i = close + 1;
  }
  out.labelsUsed = used.size();
  return out;
}

std::vector<Endpoint> renderEndpoints(const std::vector<MetaTag>& tags, const AppcImageRef& ref) {
  std::vector<Endpoint> endpoints = render(tags, ref.name, ref.labels);
  if (endpoints.empty() && !ref.labels.get("version")) {
    appc::Labels withLatest = ref.labels;
    withLatest.add(appc::AcIdentifier::parse("version"), "latest");
    endpoints = render(tags, ref.name, withLatest);
  }
  return endpoints;
}

std::vector<std::string> publicKeyUrls(const std::vector<MetaTag>& tags, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& tag : tags) {
    if (tag.kind != MetaKind::kPublicKeys || !prefixMatches(tag.prefix, name)) continue;
    if (std::find(out.begin(), out.end(), tag.url) == out.end()) out.push_back(tag.url);
  }
  return out;
}

}  // namespace ferry::discovery
