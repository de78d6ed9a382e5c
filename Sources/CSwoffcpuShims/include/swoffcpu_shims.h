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
/* Configuration, set before swoffcpu_load. */
struct swoffcpu_config {
	uint32_t follow_threads;  /* trace threads created by traced threads */
	uint32_t filter_tids;     /* only the threads in target_tids */
	uint32_t walk_user;       /* walk user stacks */
	uint32_t walk_kernel;     /* walk kernel stacks */
	uint64_t walk_period_ns;  /* see bpf/swoffcpu.bpf.c */
	uint32_t walk_one_in;     /* 1 = walk every switch-out */
	uint32_t max_stacks;      /* entries of `user_stacks` and of `kernel_stacks` */
	uint32_t max_stack_time;  /* entries of `stack_time` */
	uint32_t max_locks;       /* entries of `lock_waits` and of `lock_wakers` */
	uint32_t n_tgids;         /* the traced processes, for the kernel side's fast filter */
	const uint32_t *tgids;
	uint32_t seed_user_stacks; /* load the sleepable walk of seeded threads' user stacks */
};
int swoffcpu_configure(struct swoffcpu_bpf *skel, const struct swoffcpu_config *cfg);
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

/* The traced processes' executable ranges, sorted, at most SWOFFCPU_MAX_TEXT_RANGES
 * (see bpf/swoffcpu.h): before attaching. */
void swoffcpu_set_text_ranges(struct swoffcpu_bpf *skel, const struct swoffcpu_text_range *ranges, uint32_t n);

/* Sums a per-CPU counter over all possible CPUs. */
int swoffcpu_read_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum);

#endif
