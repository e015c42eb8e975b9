// runtime.json (stage1/ABI.md §2) and what stage1 leaves in a pod directory (§1, §5): pid,
// exit, status/<app>.json. stage0 writes the first and reads the others for list and status;
// the one definition of each is the pod ABI module, stage1/common.
#pragma once

#include "stage1/common/pod_files.hpp"
#include "stage1/common/runtime.hpp"
#include "stage1/common/status.hpp"

namespace ferry::pod {

using RuntimeApp = stage1::RuntimeApp;
using MdsRegistration = stage1::MdsOptions;
using PrivateUsersRange = stage1::PrivateUsers;
using RuntimeOptions = stage1::RuntimeOptions;
using AppStatus = stage1::AppStatus;
using stage1::fileTime;
using stage1::readAppStatus;
using stage1::readNumberFile;
using stage1::statusToJson;

}  // namespace ferry::pod
