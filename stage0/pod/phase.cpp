#include "stage0/pod/phase.hpp"

#include <chrono>
#include <cstdio>

namespace ferry::pod {

namespace {
const std::chrono::steady_clock::time_point kStart = std::chrono::steady_clock::now();
}

void phase(bool debug, std::string_view what) {
  if (!debug) return;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - kStart).count();
  std::fprintf(stderr, "ferry: [%7.2f ms] %.*s\n", ms, static_cast<int>(what.size()), what.data());
}

}  // namespace ferry::pod
