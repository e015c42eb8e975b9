// The pure steps of appc discovery: which pages to ask, and what their meta tags mean.
//
// Pages are asked for each prefix of the image name, longest first (namePrefixes). On a page,
// a meta tag applies when its prefix is a prefix of the name (string-wise, as in the spec and
// its reference implementation). An ac-discovery template is rendered by replacing {name}, {ext}
// and {<label>} for every label of the image; a template left with a variable it cannot fill,
// or one without {ext}, is dropped. The spec has clients keep only the best matching
// templates: among those that render, the ones that use the most labels. When no template
// renders and no version was asked for, the templates are tried once more with
// version=latest, which is what rkt did (the spec's "latest pattern" templates, which
// spell "latest" themselves, still win when present: they render on the first try).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "discovery/appc_image_ref.hpp"
#include "discovery/meta_tags.hpp"

namespace ferry::discovery {

// "example.com/a/b" → {"example.com/a/b", "example.com/a", "example.com"}.
std::vector<std::string> namePrefixes(std::string_view name);

// True if a meta tag with prefix `metaPrefix` applies to `name`.
bool prefixMatches(std::string_view metaPrefix, std::string_view name);

using TemplateVars = std::vector<std::pair<std::string, std::string>>;  // first match wins

struct Expansion {
  std::string url;
  size_t labelsUsed = 0;  // distinct variables used other than {name} and {ext}
};

// Replaces every {var} with its value from `vars`; nullopt when a variable has no value.
// Values are inserted as they are, except for the characters a URL cannot hold literally
// (controls, space, non-ASCII, and "#%<>?[\]^`{|}" and '"'), which are percent-encoded so
// that a label value cannot change the structure of the URL.
std::optional<Expansion> expandTemplate(std::string_view tmpl, const TemplateVars& vars);

// Where an image and its detached signature are.
struct Endpoint {
  std::string aci;  // {ext} = "aci"
  std::string asc;  // {ext} = "aci.asc"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// The best matching endpoints of the page's ac-discovery tags that apply to `ref`, in page
// order, without duplicates.
std::vector<Endpoint> renderEndpoints(const std::vector<MetaTag>& tags, const AppcImageRef& ref);

// The URLs of the page's ac-discovery-pubkeys tags that apply to `name`, in page order.
std::vector<std::string> publicKeyUrls(const std::vector<MetaTag>& tags, std::string_view name);

}  // namespace ferry::discovery
