/* The stop signals a command takes (see cli.h: cli_catch_stop_signals). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "cli.h"

void cli_catch_stop_signals(void (*handler)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(SIGINT, &sa, NULL);  /* Ctrl-C */
    sigaction(SIGTERM, &sa, NULL); /* kill, a batch system's time limit */
    sigaction(SIGHUP, &sa, NULL);  /* a closed terminal or ssh session */
}
