// The main of one entrypoint of a flavor: FERRY_ENTRYPOINT (run, stop, enter, gc) names it and
// FERRY_ENTRYPOINT_FN is the function (in ferry::stage1) that implements it; the flavor's
// library defines the function.
#include "stage1/common/entrypoint.hpp"

#define FERRY_STR2(x) #x
#define FERRY_STR(x) FERRY_STR2(x)

namespace ferry::stage1 {
int FERRY_ENTRYPOINT_FN(const Args& args);
}

int main(int argc, char** argv) {
  return ferry::stage1::entrypointMain(argc, argv, FERRY_STR(FERRY_ENTRYPOINT),
                                       &ferry::stage1::FERRY_ENTRYPOINT_FN);
}
