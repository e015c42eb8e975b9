#include "discovery/appc_image_ref.hpp"

#include <optional>
#include <vector>

#include "common/error.hpp"
#include "formats/oci/platform.hpp"

namespace ferry::discovery {

namespace {

std::vector<std::string_view> splitCommas(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t comma = s.find(',');
    parts.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    s.remove_prefix(comma + 1);
  }
}

AppcImageRef parseUnwrapped(std::string_view s, const appc::OciPlatform& host) {
  std::vector<std::string_view> parts = splitCommas(s);
  std::string_view nameAndVersion = parts[0];
  std::optional<std::string_view> version;
  if (size_t colon = nameAndVersion.find(':'); colon != std::string_view::npos) {
    version = nameAndVersion.substr(colon + 1);
    nameAndVersion = nameAndVersion.substr(0, colon);
    if (version->empty()) throw Error(Errc::kInvalid, "empty version after ':'");
    if (version->find(':') != std::string_view::npos) {
      throw Error(Errc::kInvalid, "more than one ':'");
    }
  }
  AppcImageRef ref{appc::AcIdentifier::parse(nameAndVersion)};
  if (version) ref.labels.add(appc::AcIdentifier::parse("version"), std::string(*version));
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (part.empty()) throw Error(Errc::kInvalid, "empty label (two commas, or a trailing one)");
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      throw Error(Errc::kInvalid, "label " + quote(part) + " has no value (want label=value)");
    }
    std::string_view label = part.substr(0, eq);
    std::string_view value = part.substr(eq + 1);
    if (value.empty()) throw Error(Errc::kInvalid, "label " + quote(label) + " has an empty value");
    ref.labels.add(appc::AcIdentifier::parse(label), std::string(value));
  }
  if (!ref.labels.get("os")) {
    if (auto own = appc::fromOciPlatform(host.os, host.architecture, host.variant)) {
      ref.labels.add(appc::AcIdentifier::parse("os"), own->os);
    }
  }
  auto os = ref.labels.get("os");
  if (os && !ref.labels.get("arch")) {
    if (auto own = appc::fromOciPlatform(*os, host.architecture, host.variant)) {
      ref.labels.add(appc::AcIdentifier::parse("arch"), own->arch);
    }
  }
  appc::validateOsArch(ref.labels);
  return ref;
}

}  // namespace

std::string AppcImageRef::str() const {
  // ":version" only where parsing puts it back: as the first label, holding no ':' itself
  // ("a,version=x:y" and "a,os=linux,version=1" keep the ",version=" form).
  std::string out = name.str();
  auto first = labels.begin();
  bool colon = first != labels.end() && first->name.str() == "version" &&
               first->value.find(':') == std::string::npos;
  if (colon) out += ":" + first->value;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    if (!(colon && it == first)) out += "," + it->name.str() + "=" + it->value;
  }
  return out;
}

appc::OciPlatform hostPlatform() {
  oci::Platform p = oci::hostPlatform();
  return appc::OciPlatform{p.os, p.architecture, p.variant.value_or("")};
}

AppcImageRef parseAppcImageRef(std::string_view s, const appc::OciPlatform& host) {
  try {
    return parseUnwrapped(s, host);
  } catch (const Error& e) {
    throw Error(Errc::kInvalid, "cannot parse image " + quote(s) + ": " + e.what());
  }
}

void checkManifestMatches(const AppcImageRef& ref, const appc::AcIdentifier& name,
                          const appc::Labels& labels) {
  auto mismatch = [&](const std::string& cause) {
    throw Error(Errc::kInvalid, "image " + quote(name.str()) + " does not match " +
                                    quote(ref.str()) + ": " + cause);
  };
  if (name != ref.name) mismatch("its name is " + quote(name.str()));
  for (const auto& want : ref.labels) {
    auto have = labels.get(want.name.str());
    if (!have) mismatch("it has no label " + quote(want.name.str()));
    if (*have != want.value) {
      mismatch("its label " + quote(want.name.str()) + " is " + quote(*have) + ", not " +
               quote(want.value));
    }
  }
}

}  // namespace ferry::discovery
