// One of the ns stage1's entrypoints; FERRY_ENTRYPOINT (run, stop, enter, gc) picks which.
#include "stage1/ns/entrypoints.hpp"

#define FERRY_STR2(x) #x
#define FERRY_STR(x) FERRY_STR2(x)

int main(int argc, char** argv) {
  return ferry::stage1::entrypointMain(argc, argv, FERRY_STR(FERRY_ENTRYPOINT),
                                       &ferry::stage1::FERRY_ENTRYPOINT_FN);
}
