// --debug's account of where a pod's start goes in stage0: "ferry: [   1.23 ms] what" on
// stderr, in milliseconds since the process's static initialisation (what the dynamic loader
// did before is not in it: `perf stat ferry --version` measures that). The stage1's own lines
// ("ferry-stage1 run: [ms] …", stage1/common/run_steps.hpp) start again from zero at its exec.
#pragma once

#include <string_view>

namespace ferry::pod {

void phase(bool debug, std::string_view what);

}  // namespace ferry::pod
