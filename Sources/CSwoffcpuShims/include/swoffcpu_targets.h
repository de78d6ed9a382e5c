/*
 * Shims for the targets beyond -p/-t (bpf/targets.bpf.h): --cgroup and -a.
 * Applied between swoffcpu_configure and swoffcpu_load, always (the cgroup move
 * program is left out unless --cgroup). Each returns 0 or a negative errno.
 */
#ifndef SWOFFCPU_TARGETS_H
#define SWOFFCPU_TARGETS_H

#include <stdint.h>

struct swoffcpu_bpf;

struct swoffcpu_targets_plan {
	uint32_t mode;          /* SWOFFCPU_TARGET_* */
	uint32_t cgroup_level;  /* --cgroup: depth below the cgroup2 root (the root: 0) */
	uint64_t cgroup_id;     /* --cgroup: the cgroup's kernfs id (its directory's inode) */
	uint32_t on_cgroup_attach; /* 1: load tp_btf/cgroup_attach_task */
};

int swoffcpu_configure_targets(struct swoffcpu_bpf *skel, const struct swoffcpu_targets_plan *plan);
/* Attaches the cgroup move program when loaded (after swoffcpu_attach). */
int swoffcpu_attach_targets(struct swoffcpu_bpf *skel);
void swoffcpu_detach_targets(struct swoffcpu_bpf *skel);
/* How many records wait in `acct_pending` for their task's storage now (bpf/task.bpf.h). */
uint64_t swoffcpu_pending_records(struct swoffcpu_bpf *skel);

#endif
