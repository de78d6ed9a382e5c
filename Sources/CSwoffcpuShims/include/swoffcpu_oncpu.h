/*
 * On-CPU stack sampling (bpf/oncpu.bpf.h, --on-cpu): the perf events that drive it.
 * Returns 0 or a negative errno, as the other shims.
 */
#ifndef SWOFFCPU_ONCPU_H
#define SWOFFCPU_ONCPU_H

#include <stdint.h>

struct swoffcpu_bpf;
struct swoffcpu_oncpu; /* the perf events and their links, opaque to Swift */

/* Whether the sampling program loads: between swoffcpu_configure and swoffcpu_load. */
int swoffcpu_oncpu_set_autoload(struct swoffcpu_bpf *skel, int load);
/* Opens a software cpu-clock event sampling `hz` times a second on every online CPU and
 * attaches the program to each. NULL on failure, with *err set; *cpus: the CPUs sampled. */
struct swoffcpu_oncpu *swoffcpu_oncpu_attach(struct swoffcpu_bpf *skel, uint32_t hz, int *err, int *cpus);
/* Detaches and closes them all. */
void swoffcpu_oncpu_detach(struct swoffcpu_oncpu *oncpu);

#endif
