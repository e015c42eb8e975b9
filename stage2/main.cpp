// ferry-stage2 [--event pre-start|post-stop] BUNDLE — see stage2/stage2.hpp.
#include <cstdio>
#include <exception>
#include <string>

#include "common/error.hpp"
#include "stage2/stage2.hpp"

int main(int argc, char** argv) {
  std::string app = "?";
  try {
    ferry::stage2::Options options = ferry::stage2::parseArgs(argc, argv);
    app = options.bundle.filename().string();
    return ferry::stage2::run(options, app);
  } catch (const ferry::Error& e) {
    if (e.code() == ferry::Errc::kUsage) {
      std::fprintf(stderr,
                   "ferry-stage2: %s\nusage: ferry-stage2 [--event pre-start|post-stop] "
                   "BUNDLE\n",
                   e.what());
      return 2;
    }
    std::fprintf(stderr, "ferry-stage2: %s: %s\n", app.c_str(), ferry::describe(e, true).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-stage2: %s: %s\n", app.c_str(), ferry::describe(e, true).c_str());
  }
  return 254;
}
