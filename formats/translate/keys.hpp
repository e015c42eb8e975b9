// The labels (OCI side) and annotations (appc side) where ferry keeps what the other format
// cannot express, so that a round trip restores it. They are ferry's own names; every use is
// also listed in the translation's report.
#pragma once

#include <string_view>

namespace ferry::translate::keys {

// In an OCI image config's Labels, fields of an appc image manifest (JSON values).
inline constexpr std::string_view kAppcName = "dev.ferry.appc.name";
inline constexpr std::string_view kAppcLabels = "dev.ferry.appc.labels";
inline constexpr std::string_view kAppcUser = "dev.ferry.appc.user";
inline constexpr std::string_view kAppcGroup = "dev.ferry.appc.group";
inline constexpr std::string_view kAppcSupplementaryGids = "dev.ferry.appc.supplementaryGIDs";
inline constexpr std::string_view kAppcEventHandlers = "dev.ferry.appc.eventHandlers";
inline constexpr std::string_view kAppcIsolators = "dev.ferry.appc.isolators";
inline constexpr std::string_view kAppcMountPoints = "dev.ferry.appc.mountPoints";
inline constexpr std::string_view kAppcPorts = "dev.ferry.appc.ports";
inline constexpr std::string_view kAppcUserAnnotations = "dev.ferry.appc.userAnnotations";
inline constexpr std::string_view kAppcUserLabels = "dev.ferry.appc.userLabels";
inline constexpr std::string_view kAppcPrefix = "dev.ferry.appc.";

// In an appc image manifest's annotations, fields of an OCI image config (JSON values).
inline constexpr std::string_view kOciCmd = "dev.ferry.oci.cmd";
inline constexpr std::string_view kOciUser = "dev.ferry.oci.user";
inline constexpr std::string_view kOciLabels = "dev.ferry.oci.labels";
inline constexpr std::string_view kOciEnv = "dev.ferry.oci.env";
inline constexpr std::string_view kOciConfig = "dev.ferry.oci.config";
inline constexpr std::string_view kOciImage = "dev.ferry.oci.image";
inline constexpr std::string_view kOciPrefix = "dev.ferry.oci.";

// appc annotations the spec defines that have an OCI image config field.
inline constexpr std::string_view kCreated = "created";
inline constexpr std::string_view kAuthors = "authors";

}  // namespace ferry::translate::keys
