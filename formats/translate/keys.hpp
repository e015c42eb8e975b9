// The labels (OCI side) and annotations (appc side) where ferry keeps what the other format
// cannot express, so that a round trip restores it. They are ferry's own names; every use is
// also listed in the translation's report.
#pragma once

#include <string_view>

#include "stage1/common/keys.hpp"

namespace ferry::translate::keys {

// In an OCI image config's Labels, fields of an appc image manifest (JSON values).
inline constexpr std::string_view kAppcName = ferry::keys::kAppcName;
inline constexpr std::string_view kAppcLabels = ferry::keys::kAppcLabels;
inline constexpr std::string_view kAppcUser = ferry::keys::kAppcUser;
inline constexpr std::string_view kAppcGroup = ferry::keys::kAppcGroup;
inline constexpr std::string_view kAppcSupplementaryGids = ferry::keys::kAppcSupplementaryGids;
inline constexpr std::string_view kAppcEventHandlers = ferry::keys::kAppcEventHandlers;
inline constexpr std::string_view kAppcIsolators = ferry::keys::kAppcIsolators;
inline constexpr std::string_view kAppcMountPoints = ferry::keys::kAppcMountPoints;
inline constexpr std::string_view kAppcPorts = ferry::keys::kAppcPorts;
inline constexpr std::string_view kAppcUserAnnotations = ferry::keys::kAppcUserAnnotations;
inline constexpr std::string_view kAppcUserLabels = ferry::keys::kAppcUserLabels;
inline constexpr std::string_view kAppcPrefix = ferry::keys::kAppcPrefix;

// In an appc image manifest's annotations, fields of an OCI image config (JSON values).
inline constexpr std::string_view kOciCmd = ferry::keys::kOciCmd;
inline constexpr std::string_view kOciUser = ferry::keys::kOciUser;
inline constexpr std::string_view kOciLabels = ferry::keys::kOciLabels;
inline constexpr std::string_view kOciEnv = ferry::keys::kOciEnv;
inline constexpr std::string_view kOciConfig = ferry::keys::kOciConfig;
inline constexpr std::string_view kOciImage = ferry::keys::kOciImage;
inline constexpr std::string_view kOciPrefix = ferry::keys::kOciPrefix;

// appc annotations the spec defines that have an OCI image config field.
inline constexpr std::string_view kCreated = "created";
inline constexpr std::string_view kAuthors = "authors";

}  // namespace ferry::translate::keys
