/*
 * Shims for following processes (bpf/follow.bpf.h): kept apart from swoffcpu_shims.h
 * so that the process-tree programs and their ring buffer have one place on this side.
 * Every function is prefixed swoffcpu_ and returns 0 or a negative errno.
 */
#ifndef SWOFFCPU_FOLLOW_H
#define SWOFFCPU_FOLLOW_H

#include <stdint.h>
#include "swoffcpu.h"

struct swoffcpu_bpf;

/* Between swoffcpu_open and swoffcpu_load: `follow_processes` (new processes of
 * traced tasks are traced), and whether the exec and exit hooks load at all
 * (`process_events`: 0 leaves them out, and nothing is sent to `proc_events`). */
int swoffcpu_follow_configure(struct swoffcpu_bpf *skel, uint32_t follow_processes, uint32_t process_events);
/* Attaches the exec and exit hooks, if loaded: after swoffcpu_attach, before seeding. */
int swoffcpu_follow_attach(struct swoffcpu_bpf *skel);
void swoffcpu_follow_detach(struct swoffcpu_bpf *skel);
/* The `proc_events` ring buffer. */
int swoffcpu_proc_events_fd(struct swoffcpu_bpf *skel);
/* Events lost because `proc_events` was full. */
uint64_t swoffcpu_proc_events_dropped(struct swoffcpu_bpf *skel);

#endif
