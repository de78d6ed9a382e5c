/*
 * The few OS calls Swift cannot make well by itself: an async-signal-safe stop flag
 * (a signal handler must not call into the Swift runtime), capget, which Glibc's
 * Swift module does not export, and HTTP downloads through a libcurl loaded on demand
 * (variadic C calls). Everything else of the OS edge is Swift, in
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

/* Starts writing out `len` bytes of `fd` from `offset` (sync_file_range, SYNC_FILE_RANGE_WRITE):
 * a hint, so that a later fsync has less to wait for. Glibc declares it only under _GNU_SOURCE. */
int swoffcpu_start_writeback(int fd, long long offset, long long len);

/* GET `url` into `fd` (http.c: libcurl, loaded on first use). `timeout_s`: connect within it,
 * then at least 100 KiB per `timeout_s` (0: none); `max_time_s`: the whole transfer (0: none);
 * `max_bytes`: the body's size (0: any). Returns 0 when the transfer completed (`*status`: the
 * HTTP status, 0 for file://), 1 when it failed, -1 when libcurl cannot be loaded; `err` says why. */
int swoffcpu_http_get(const char *url, int fd, long timeout_s, long max_time_s, unsigned long long max_bytes,
		      long *status, char *err, unsigned long errlen);

#endif
