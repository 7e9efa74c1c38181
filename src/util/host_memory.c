/* The machine's physical memory (see host_memory.h). */
#include "host_memory.h"

#include <unistd.h>

size_t rn_host_memory_total(void) {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return (size_t)pages * (size_t)page;
#endif
    return 0;
}

bool rn_host_memory_exceeds(size_t bytes) {
    size_t total = rn_host_memory_total();
    return total > 0 && bytes > total;
}
