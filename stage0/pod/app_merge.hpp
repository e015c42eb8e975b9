// An app of a pod as the operator asked for it (stage0/pod/prepare.hpp): the image's app section
// merged with the app's flags, its isolators merged by family, its mount points satisfied, and
// the checks made before anything starts (what ferry's own limits allow). Internal to stage0/pod.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "formats/appc/pod_manifest.hpp"
#include "formats/translate/privileges.hpp"
#include "formats/translate/report.hpp"
#include "stage0/pod/image_resolve.hpp"
#include "stage0/pod/prepare.hpp"

namespace ferry::pod {

// The last component of an image name, without its tag or digest: an app's default name.
std::string lastComponent(const std::string& name);

// Replaces isolators of the same family as any in `overrides`; sysctls merge key by key (the
// override's value wins), so that --sysctl KEY=VALUE keeps the image's other keys.
void mergeIsolators(appc::Isolators& base, const appc::Isolators& overrides);

// The app section of `appName`: the image's, with the request's exec, user, environment,
// annotations and isolators; what the image asks beyond appc's defaults must be granted.
appc::App mergeApp(const ResolvedImage& img, const AppRequest& req, const std::string& appName,
                   appc::RuntimeApp& ra, const translate::InsecureRun& insecure);

// ferry's own environment, for --inherit-env.
std::vector<std::pair<std::string, std::string>> inheritedEnvironment();

// Every mount point gets a mount: an explicit --mount, or a pod volume of the same name, or
// (as rkt does) an implicit empty volume, reported.
void satisfyMountPoints(appc::RuntimeApp& ra, std::vector<appc::Volume>& volumes,
                        translate::Report& report);

// --mount volume=NAME,target=PATH|MOUNTPOINT of one app.
void addMountRequests(appc::RuntimeApp& ra, const std::vector<MountRequest>& reqs);

// Whether an app gets the default /etc/hosts (no --hosts-entry): only when its image has none.
// An /etc that is a symlink (or anything but a directory) is left as the image made it: stage0
// never follows an image's symlink.
bool needsDefaultHosts(const std::string& tree);

// A hard limit above ferry's own needs CAP_SYS_RESOURCE: refused here, before anything starts,
// rather than by stage2 once the pod runs.
void checkRlimits(const appc::RuntimeApp& ra);

// Lowering oom_score_adj below ferry's own needs CAP_SYS_RESOURCE too: refused here as well.
void checkOomScoreAdj(const appc::RuntimeApp& ra);

// The capabilities ferry's bounding set holds: all an app can get (--insecure-options=
// capabilities).
std::vector<std::string> boundingCapabilities();

}  // namespace ferry::pod
