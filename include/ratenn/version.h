/* ratenn's version. */
#ifndef RATENN_VERSION_H
#define RATENN_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (CMakeLists.txt's project() is where it is set). */
const char *rn_version(void);

#ifdef __cplusplus
}
#endif
#endif
