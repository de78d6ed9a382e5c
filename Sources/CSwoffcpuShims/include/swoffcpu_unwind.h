/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libbpf glue of the DWARF unwinder (bpf/unwind.bpf.h): its settings before load,
 * its maps after. The choices are made in Swift (LoadPlan.unwind, UnwindMaps).
 */
#ifndef SWOFFCPU_UNWIND_SHIMS_H
#define SWOFFCPU_UNWIND_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include "swoffcpu.h"

struct swoffcpu_bpf;

/* Before load: the mode (SWOFFCPU_UNWIND_*), rows of `unwind_rows`, entries of `unwind_procs`. */
int swoffcpu_configure_unwind(struct swoffcpu_bpf *skel, uint32_t mode, uint32_t rows, uint32_t procs);

enum swoffcpu_unwind_map {
	SWOFFCPU_UNWIND_MAP_ROWS,
	SWOFFCPU_UNWIND_MAP_PROCS,
	SWOFFCPU_UNWIND_MAP_COUNTERS,
};

int swoffcpu_unwind_map_fd(struct swoffcpu_bpf *skel, enum swoffcpu_unwind_map which);

/* After load: `unwind_rows` mapped writable (NULL and errno on failure); *rows is its length. */
struct swoffcpu_unwind_row *swoffcpu_unwind_rows_mmap(struct swoffcpu_bpf *skel, uint32_t *rows);
void swoffcpu_unwind_rows_munmap(struct swoffcpu_unwind_row *rows, uint32_t n);

/* A per-CPU counter of `unwind_counters`, summed over the CPUs. */
int swoffcpu_read_unwind_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum);

#endif
