// Media types of the OCI image-spec and of Docker's image manifest v2 schema 2.
//
// ferry reads both families: a Docker v2.2 manifest has the same shape as an OCI manifest and
// differs only in its media types, so the predicates below accept either spelling.
#pragma once

#include <string_view>

namespace ferry::oci {

namespace media {

// OCI image-spec.
inline constexpr std::string_view kDescriptor = "application/vnd.oci.descriptor.v1+json";
inline constexpr std::string_view kLayoutHeader = "application/vnd.oci.layout.header.v1+json";
inline constexpr std::string_view kImageManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kImageConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kEmptyJson = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kLayerNondistributableTar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kLayerNondistributableTarGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kLayerNondistributableTarZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerTarGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerTarGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kDockerPluginConfig = "application/vnd.docker.plugin.v1+json";

}  // namespace media

enum class Compression { kNone, kGzip, kZstd };

std::string_view compressionName(Compression c);  // "none", "gzip", "zstd"

// An image manifest: OCI or Docker v2.2.
bool isManifest(std::string_view mediaType);
// An image index: OCI index or Docker manifest list.
bool isIndex(std::string_view mediaType);
// An image configuration: OCI or Docker.
bool isConfig(std::string_view mediaType);
// A filesystem layer ferry knows how to apply (OCI tar, tar+gzip, tar+zstd, their
// nondistributable forms, Docker rootfs diffs, Docker foreign layers).
bool isLayer(std::string_view mediaType);
// Layers that registries must not redistribute (fetched from the descriptor's urls instead).
bool isNondistributable(std::string_view mediaType);
// The compression of a layer; Error{kUnsupported} for a media type that is not a known layer.
Compression layerCompression(std::string_view mediaType);

// RFC 6838 shape check: "type/subtype" with restricted-name characters (4.2) on both sides.
bool isValidMediaType(std::string_view mediaType);

}  // namespace ferry::oci
