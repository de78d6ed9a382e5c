#include "swoffcpu_unwind.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "swoffcpu.skel.h"

int swoffcpu_configure_unwind(struct swoffcpu_bpf *skel, uint32_t mode, uint32_t rows, uint32_t procs)
{
	int err;

	skel->rodata->unwind_mode = mode;
	err = bpf_map__set_max_entries(skel->maps.unwind_rows, rows ? rows : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.unwind_procs, procs ? procs : 1);
	return err;
}

int swoffcpu_unwind_map_fd(struct swoffcpu_bpf *skel, enum swoffcpu_unwind_map which)
{
	switch (which) {
	case SWOFFCPU_UNWIND_MAP_ROWS: return bpf_map__fd(skel->maps.unwind_rows);
	case SWOFFCPU_UNWIND_MAP_PROCS: return bpf_map__fd(skel->maps.unwind_procs);
	case SWOFFCPU_UNWIND_MAP_COUNTERS: return bpf_map__fd(skel->maps.unwind_counters);
	}
	return -EINVAL;
}

struct swoffcpu_unwind_row *swoffcpu_unwind_rows_mmap(struct swoffcpu_bpf *skel, uint32_t *rows)
{
	uint32_t n = bpf_map__max_entries(skel->maps.unwind_rows);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)n * sizeof(struct swoffcpu_unwind_row) + page - 1) / page * page;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel->maps.unwind_rows), 0);

	if (p == MAP_FAILED)
		return NULL;
	*rows = n;
	return p;
}

void swoffcpu_unwind_rows_munmap(struct swoffcpu_unwind_row *rows, uint32_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)n * sizeof(struct swoffcpu_unwind_row) + page - 1) / page * page;

	if (rows)
		munmap(rows, len);
}
