/* The library's version, from CMake's project() (the only place it is written). */
#include "ratenn/version.h"

#ifndef RATENN_VERSION
#error "RATENN_VERSION is set by CMakeLists.txt"
#endif

const char *rn_version(void) {
    return RATENN_VERSION;
}
