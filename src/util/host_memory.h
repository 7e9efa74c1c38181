/* Internal: the machine's physical memory, so that a request larger than all of it is refused with
 * a message before any page is touched. Under overcommit (vm.overcommit_memory=1) malloc would
 * grant such a request and the first writes would run the machine out of memory instead. */
#ifndef RATENN_HOST_MEMORY_H
#define RATENN_HOST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of physical memory, or 0 where the system does not say. */
size_t rn_host_memory_total(void);

/* True when `bytes` is more than the machine's physical memory (false where that is unknown). */
bool rn_host_memory_exceeds(size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
