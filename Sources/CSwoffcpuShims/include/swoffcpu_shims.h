/*
 * C shims between Swift and libbpf: the generated skeleton (static inline C),
 * libbpf's varargs print callback. (The OS calls that are not libbpf's live in
 * CSwoffcpuSystem, behind Sources/SwoffcpuSystem.)
 * Every function is prefixed swoffcpu_ and returns 0 or a negative errno.
 */
#ifndef SWOFFCPU_SHIMS_H
#define SWOFFCPU_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include "swoffcpu.h"

struct swoffcpu_bpf; /* the skeleton, opaque to Swift */

/* libbpf output: kept in a ring of the last lines (for error messages); echoed to
 * stderr when verbose. */
void swoffcpu_log_setup(int verbose);
/* Copies up to `max_lines` of the last libbpf lines, newline-separated, into buf. */
size_t swoffcpu_log_tail(char *buf, size_t len, int max_lines);

struct swoffcpu_bpf *swoffcpu_open(int *err);
/*
 * What to load and how, applied between swoffcpu_open and swoffcpu_load. Every
 * choice is made in Swift (Sources/SwoffcpuBPF/LoadPlan.swift);
 * swoffcpu_configure copies it into the skeleton and decides nothing.
 */
/* Each program: 1 to load it, 0 to leave it out. */
struct swoffcpu_autoload {
	uint32_t on_switch;
	uint32_t on_waking;
	uint32_t on_wakeup;
	uint32_t on_fork;
	uint32_t seed_threads;
	uint32_t seed_user_stacks;
	uint32_t dump_threads;
};
/* max_entries of each map sized at load (at least 1 each). */
struct swoffcpu_map_sizes {
	uint32_t user_stacks;
	uint32_t kernel_stacks;
	uint32_t user_leaves;
	uint32_t stack_time;
	uint32_t lock_waits;
	uint32_t lock_wakers;
};
struct swoffcpu_load_plan {
	/* The programs' read-only globals, named as in bpf/ (`const volatile`). */
	uint32_t follow_threads;
	uint32_t filter_tids;
	uint32_t walk_user;
	uint32_t walk_kernel;
	uint64_t walk_period_ns;
	uint32_t walk_one_in;
	uint32_t queue_clock;
	uint32_t n_fast_tgids;        /* at most SWOFFCPU_FAST_TGIDS; 0: no fast filter */
	const uint32_t *fast_tgids;
	struct swoffcpu_autoload autoload;
	struct swoffcpu_map_sizes max_entries;
	/* The timeline (bpf/timeline.bpf.h): on or off, and its ring buffer's size in bytes
	 * (a power of two, a multiple of the page size). */
	uint32_t timeline;
	uint32_t timeline_ring_bytes;
	/* Where this CPU's preempt count is, from its run queue (0 = not known). */
	uint32_t has_preempt_count;
	int64_t preempt_count_from_rq;
};
/* 0, or a negative errno (-E2BIG: more fast tgids than the programs hold). */
int swoffcpu_configure(struct swoffcpu_bpf *skel, const struct swoffcpu_load_plan *plan);
int swoffcpu_load(struct swoffcpu_bpf *skel);
/* Attaches the scheduler tracepoints (not the iterators). */
int swoffcpu_attach(struct swoffcpu_bpf *skel);
/* Detaches the scheduler tracepoints, keeping the object loaded. */
void swoffcpu_detach(struct swoffcpu_bpf *skel);
void swoffcpu_destroy(struct swoffcpu_bpf *skel);

enum swoffcpu_map_id {
	SWOFFCPU_MAP_TARGET_TGIDS,
	SWOFFCPU_MAP_TARGET_TIDS,
	SWOFFCPU_MAP_COUNTERS,
	SWOFFCPU_MAP_EXITS,
	SWOFFCPU_MAP_USER_STACKS,
	SWOFFCPU_MAP_KERNEL_STACKS,
	SWOFFCPU_MAP_USER_LEAVES,
	SWOFFCPU_MAP_LOCK_WAITS,
	SWOFFCPU_MAP_LOCK_WAKERS,
	SWOFFCPU_MAP_STACK_TIME,
	/* Python (bpf/python.bpf.h) */
	SWOFFCPU_MAP_PY_PROCS,
	SWOFFCPU_MAP_PY_STACKS,
	SWOFFCPU_MAP_PY_COUNTERS,
	SWOFFCPU_MAP_TIMELINE_EVENTS,
};

int swoffcpu_map_fd(struct swoffcpu_bpf *skel, enum swoffcpu_map_id id);

enum swoffcpu_iter_id {
	SWOFFCPU_ITER_SEED,
	SWOFFCPU_ITER_SEED_USER_STACKS, /* sleepable: user stacks of threads off-CPU at seeding */
	SWOFFCPU_ITER_DUMP,
};
/* Runs a task iterator and returns its whole output (malloc'd, caller frees). */
int swoffcpu_run_iter(struct swoffcpu_bpf *skel, enum swoffcpu_iter_id id, void **out, size_t *len);

/* The window end seen by the programs (mmap'ed .bss): 0 = still tracing. */
void swoffcpu_set_window_end(struct swoffcpu_bpf *skel, uint64_t ns);
/* The window's start, before seeding: --cgroup and -a start no record before it. */
void swoffcpu_set_window_start(struct swoffcpu_bpf *skel, uint64_t ns);

/* The traced processes' executable ranges, sorted, at most SWOFFCPU_MAX_TEXT_RANGES
 * (see bpf/swoffcpu.h): before attaching. */
void swoffcpu_set_text_ranges(struct swoffcpu_bpf *skel, const struct swoffcpu_text_range *ranges, uint32_t n);

/* Sums a per-CPU counter over all possible CPUs. */
int swoffcpu_read_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum);

/* The timeline: stop sending slices (--timeline-limit reached); sum a timeline counter. */
void swoffcpu_set_timeline_full(struct swoffcpu_bpf *skel, uint32_t full);
int swoffcpu_read_timeline_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum);

#endif
