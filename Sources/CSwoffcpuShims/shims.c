#include "swoffcpu_shims.h"
#include "swoffcpu_unwind.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "swoffcpu.skel.h"

/* ---- libbpf output ---------------------------------------------------- */

#define LOG_LINES 64
#define LOG_LINE_LEN 512
static char log_ring[LOG_LINES][LOG_LINE_LEN];
static unsigned log_next;
static int log_verbose;

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_LEN];
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	/* The verifier log arrives as one multi-line message: keep its lines apart. */
	for (char *s = line, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		if (*s) {
			snprintf(log_ring[log_next % LOG_LINES], LOG_LINE_LEN, "%s", s);
			log_next++;
		}
		if (!nl)
			break;
	}
	/* Without -v nothing is printed: a failure shows the last lines in its error. */
	if (log_verbose)
		vfprintf(stderr, fmt, ap);
	(void)level;
	return 0;
}

void swoffcpu_log_setup(int verbose)
{
	log_verbose = verbose;
	libbpf_set_print(log_print);
}

size_t swoffcpu_log_tail(char *buf, size_t len, int max_lines)
{
	size_t used = 0;
	unsigned n = log_next < LOG_LINES ? log_next : LOG_LINES;
	unsigned first;

	if (!len)
		return 0;
	buf[0] = 0;
	if ((unsigned)max_lines < n)
		n = (unsigned)max_lines;
	first = log_next - n;
	for (unsigned i = first; i < log_next; i++) {
		int w = snprintf(buf + used, len - used, "%s\n", log_ring[i % LOG_LINES]);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	return used;
}

/* ---- skeleton --------------------------------------------------------- */

struct swoffcpu_bpf *swoffcpu_open(int *err)
{
	struct swoffcpu_bpf *skel = swoffcpu_bpf__open();

	*err = skel ? 0 : -errno;
	return skel;
}

int swoffcpu_configure(struct swoffcpu_bpf *skel, const struct swoffcpu_load_plan *plan)
{
	const uint32_t max_fast = sizeof(skel->rodata->fast_tgids) / sizeof(skel->rodata->fast_tgids[0]);
	const struct {
		struct bpf_program *prog;
		uint32_t load;
	} programs[] = {
		{ skel->progs.on_switch, plan->autoload.on_switch },
		{ skel->progs.on_waking, plan->autoload.on_waking },
		{ skel->progs.on_wakeup, plan->autoload.on_wakeup },
		{ skel->progs.on_fork, plan->autoload.on_fork },
		{ skel->progs.seed_threads, plan->autoload.seed_threads },
		{ skel->progs.seed_user_stacks, plan->autoload.seed_user_stacks },
		{ skel->progs.dump_threads, plan->autoload.dump_threads },
	};
	const struct {
		struct bpf_map *map;
		uint32_t entries;
	} maps[] = {
		{ skel->maps.user_stacks, plan->max_entries.user_stacks },
		{ skel->maps.kernel_stacks, plan->max_entries.kernel_stacks },
		{ skel->maps.user_leaves, plan->max_entries.user_leaves },
		{ skel->maps.stack_time, plan->max_entries.stack_time },
		{ skel->maps.lock_waits, plan->max_entries.lock_waits },
		{ skel->maps.lock_wakers, plan->max_entries.lock_wakers },
	};
	int err;

	if (plan->n_fast_tgids > max_fast)
		return -E2BIG;
	skel->rodata->follow_threads = plan->follow_threads;
	skel->rodata->filter_tids = plan->filter_tids;
	skel->rodata->walk_user = plan->walk_user;
	skel->rodata->walk_kernel = plan->walk_kernel;
	skel->rodata->walk_period_ns = plan->walk_period_ns;
	skel->rodata->walk_one_in = plan->walk_one_in;
	skel->rodata->queue_clock = plan->queue_clock;
	skel->rodata->timeline = plan->timeline;
	skel->rodata->has_preempt_count = plan->has_preempt_count;
	skel->rodata->preempt_count_from_rq = plan->preempt_count_from_rq;
	err = bpf_map__set_max_entries(skel->maps.timeline_events, plan->timeline_ring_bytes);
	if (err)
		return err;
	for (uint32_t i = 0; i < plan->n_fast_tgids; i++)
		skel->rodata->fast_tgids[i] = plan->fast_tgids[i];
	skel->rodata->n_fast_tgids = plan->n_fast_tgids;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		err = bpf_program__set_autoload(programs[i].prog, programs[i].load != 0);
		if (err)
			return err;
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		err = bpf_map__set_max_entries(maps[i].map, maps[i].entries);
		if (err)
			return err;
	}
	return 0;
}

int swoffcpu_load(struct swoffcpu_bpf *skel)
{
	return swoffcpu_bpf__load(skel);
}

int swoffcpu_attach(struct swoffcpu_bpf *skel)
{
	/* The iterators are attached on demand by swoffcpu_run_iter. */
	struct bpf_program *progs[] = {
		skel->progs.on_fork, skel->progs.on_waking, skel->progs.on_wakeup, skel->progs.on_switch,
	};
	struct bpf_link **links[] = {
		&skel->links.on_fork, &skel->links.on_waking, &skel->links.on_wakeup, &skel->links.on_switch,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i]) {
			int err = -errno;
			swoffcpu_detach(skel);
			return err;
		}
	}
	return 0;
}

void swoffcpu_detach(struct swoffcpu_bpf *skel)
{
	struct bpf_link **links[] = {
		&skel->links.on_switch, &skel->links.on_waking, &skel->links.on_wakeup, &skel->links.on_fork,
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		bpf_link__destroy(*links[i]);
		*links[i] = NULL;
	}
}

void swoffcpu_destroy(struct swoffcpu_bpf *skel)
{
	swoffcpu_bpf__destroy(skel);
}

int swoffcpu_map_fd(struct swoffcpu_bpf *skel, enum swoffcpu_map_id id)
{
	switch (id) {
	case SWOFFCPU_MAP_TARGET_TGIDS: return bpf_map__fd(skel->maps.target_tgids);
	case SWOFFCPU_MAP_TARGET_TIDS: return bpf_map__fd(skel->maps.target_tids);
	case SWOFFCPU_MAP_COUNTERS: return bpf_map__fd(skel->maps.counters);
	case SWOFFCPU_MAP_EXITS: return bpf_map__fd(skel->maps.exits);
	case SWOFFCPU_MAP_USER_STACKS: return bpf_map__fd(skel->maps.user_stacks);
	case SWOFFCPU_MAP_KERNEL_STACKS: return bpf_map__fd(skel->maps.kernel_stacks);
	case SWOFFCPU_MAP_USER_LEAVES: return bpf_map__fd(skel->maps.user_leaves);
	case SWOFFCPU_MAP_LOCK_WAITS: return bpf_map__fd(skel->maps.lock_waits);
	case SWOFFCPU_MAP_LOCK_WAKERS: return bpf_map__fd(skel->maps.lock_wakers);
	case SWOFFCPU_MAP_STACK_TIME: return bpf_map__fd(skel->maps.stack_time);
	case SWOFFCPU_MAP_PY_PROCS: return bpf_map__fd(skel->maps.py_procs);
	case SWOFFCPU_MAP_PY_STACKS: return bpf_map__fd(skel->maps.py_stacks);
	case SWOFFCPU_MAP_PY_COUNTERS: return bpf_map__fd(skel->maps.py_counters);
	case SWOFFCPU_MAP_TIMELINE_EVENTS: return bpf_map__fd(skel->maps.timeline_events);
	}
	return -EINVAL;
}

int swoffcpu_run_iter(struct swoffcpu_bpf *skel, enum swoffcpu_iter_id id, void **out, size_t *len)
{
	struct bpf_program *prog = id == SWOFFCPU_ITER_SEED ? skel->progs.seed_threads
				   : id == SWOFFCPU_ITER_SEED_USER_STACKS ? skel->progs.seed_user_stacks
				   : skel->progs.dump_threads;
	struct bpf_link *link;
	size_t cap = 1 << 16, used = 0;
	char *buf;
	int fd, err = 0;

	*out = NULL;
	*len = 0;
	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	buf = malloc(cap);
	for (;;) {
		ssize_t n;

		if (!buf) {
			err = -ENOMEM;
			break;
		}
		if (cap - used < 4096) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				err = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	bpf_link__destroy(link);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = used;
	return 0;
}

void swoffcpu_set_window_end(struct swoffcpu_bpf *skel, uint64_t ns)
{
	__atomic_store_n(&skel->bss->window_end_ns, ns, __ATOMIC_SEQ_CST);
}

void swoffcpu_set_window_start(struct swoffcpu_bpf *skel, uint64_t ns)
{
	__atomic_store_n(&skel->bss->window_start_ns, ns, __ATOMIC_SEQ_CST);
}

void swoffcpu_set_text_ranges(struct swoffcpu_bpf *skel, const struct swoffcpu_text_range *ranges, uint32_t n)
{
	if (n > SWOFFCPU_MAX_TEXT_RANGES)
		n = SWOFFCPU_MAX_TEXT_RANGES;
	memcpy(skel->bss->text_ranges, ranges, n * sizeof(*ranges));
	__atomic_store_n(&skel->bss->n_text_ranges, n, __ATOMIC_SEQ_CST);
}

static int sum_percpu(int fd, uint32_t idx, uint64_t *sum);

int swoffcpu_read_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum)
{
	return sum_percpu(bpf_map__fd(skel->maps.counters), idx, sum);
}

void swoffcpu_set_timeline_full(struct swoffcpu_bpf *skel, uint32_t full)
{
	__atomic_store_n(&skel->bss->timeline_full, full, __ATOMIC_SEQ_CST);
}

int swoffcpu_read_timeline_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum)
{
	return sum_percpu(bpf_map__fd(skel->maps.timeline_counters), idx, sum);
}

/* Declared in swoffcpu_unwind.h: the unwinder's counters sum like the others. */
int swoffcpu_read_unwind_counter(struct swoffcpu_bpf *skel, uint32_t idx, uint64_t *sum)
{
	return sum_percpu(bpf_map__fd(skel->maps.unwind_counters), idx, sum);
}

static int sum_percpu(int fd, uint32_t idx, uint64_t *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *vals;
	int err;

	*sum = 0;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &idx, vals);
	if (err) {
		err = -errno;
	} else {
		for (int i = 0; i < ncpus; i++)
			*sum += vals[i];
	}
	free(vals);
	return err;
}
