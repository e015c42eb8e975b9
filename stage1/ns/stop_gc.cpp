// The stop and gc entrypoints: stage1/common's (stop_gc.hpp), every process of the pod killed
// through its cgroups.
#include "stage1/common/stop_gc.hpp"
#include "stage1/ns/entrypoints.hpp"

namespace ferry::stage1 {

int stopEntrypoint(const Args& args) { return stopPod(args); }

int gcEntrypoint(const Args& args) { return gcPod(args); }

}  // namespace ferry::stage1
