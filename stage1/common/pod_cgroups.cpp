#include "stage1/common/pod_cgroups.hpp"

#include "stage1/common/abi.hpp"
#include "stage1/common/pod_files.hpp"

namespace ferry::stage1 {

PodCgroups PodCgroups::plan(const std::filesystem::path& podDir, const RuntimeOptions& rt,
                            bool cpuset) {
  PodCgroups c;
  for (const RuntimeApp& app : rt.apps) {
    c.appNames_.push_back(app.name);
    c.appConfigs_.push_back(appCgroupConfig(podDir, app.name));
  }
  c.podResources_ = podResourcesOf(podDir, rt);
  c.devices_ = podDevicePolicy(c.podResources_, c.appConfigs_);
  // Where the pod's cgroups go (on v2 that may be beside the caller's cgroup: Group::place).
  c.pod_ = cgroup::Group::place(cgroup::Layout::detect(), podCgroupName(rt.uuid), cpuset);
  writeCgroupsJson(podDir, c.pod_);
  return c;
}

void PodCgroups::make() {
  pod_.make();
  // Before any process joins: the pod's first process is in the pod cgroup from its first move,
  // and the cgroups made below it start with its device list (v1) or inherit its program (v2).
  cgroup::applyDevicePolicy(pod_, devices_);
  pod_.apply(podResources_.limits);
  cgroup::Group limitable = pod_.limitable();
  init_ = limitable.createChild(cgroup::kInitCgroupName);
  for (const std::string& name : appNames_) {
    apps_.push_back(limitable.createChild(cgroup::appCgroupName(name)));
  }
}

void PodCgroups::delegate() const {
  pod_.delegate();
  for (size_t i = 0; i < apps_.size(); ++i) apps_[i].apply(appConfigs_[i].limits);
}

void PodCgroups::remove() const {
  for (const cgroup::Group& g : apps_) g.remove();
  init_.remove();
  pod_.remove();
}

}  // namespace ferry::stage1
