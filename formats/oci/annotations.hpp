// Pre-defined annotation keys of the image-spec (annotations.md) that ferry reads or writes.
#pragma once

#include <string_view>

namespace ferry::oci::annotation {

inline constexpr std::string_view kCreated = "org.opencontainers.image.created";
inline constexpr std::string_view kAuthors = "org.opencontainers.image.authors";
inline constexpr std::string_view kUrl = "org.opencontainers.image.url";
inline constexpr std::string_view kDocumentation = "org.opencontainers.image.documentation";
inline constexpr std::string_view kSource = "org.opencontainers.image.source";
inline constexpr std::string_view kVersion = "org.opencontainers.image.version";
inline constexpr std::string_view kRevision = "org.opencontainers.image.revision";
inline constexpr std::string_view kVendor = "org.opencontainers.image.vendor";
inline constexpr std::string_view kLicenses = "org.opencontainers.image.licenses";
// The name of a reference ("tag") in an oci-layout's index.json; only meaningful there.
inline constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kTitle = "org.opencontainers.image.title";
inline constexpr std::string_view kDescription = "org.opencontainers.image.description";
inline constexpr std::string_view kBaseDigest = "org.opencontainers.image.base.digest";
inline constexpr std::string_view kBaseName = "org.opencontainers.image.base.name";

}  // namespace ferry::oci::annotation
