/*
 * The few OS calls Swift cannot make well by itself: an async-signal-safe stop flag
 * (a signal handler must not call into the Swift runtime) and capget, which Glibc's
 * Swift module does not export. Everything else of the OS edge is Swift, in
 * Sources/SwoffcpuSystem, which is the only user of this module.
 */
#ifndef SWOFFCPU_SYSTEM_H
#define SWOFFCPU_SYSTEM_H

#include <stdint.h>

/* Effective capability set (capget), as a 64-bit mask; 0 or a negative errno. */
int swoffcpu_effective_caps(uint64_t *caps);

/* SIGINT, SIGTERM and SIGHUP set a flag (async-signal-safe) instead of killing the
 * process, so the trace ends and the report and files are still written. */
void swoffcpu_install_stop_signals(void);
/* The signal that asked to stop, or 0. */
int swoffcpu_stop_signal(void);

#endif
