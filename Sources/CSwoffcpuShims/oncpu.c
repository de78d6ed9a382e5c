/* On-CPU stack sampling: a cpu-clock perf event per CPU, each driving on_cpu_sample. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include "swoffcpu.h"
#include "swoffcpu_oncpu.h"
#include "swoffcpu.skel.h"

struct swoffcpu_oncpu {
	int n;
	int *fds;
	struct bpf_link **links; /* a link owns its event: destroying it closes the fd */
};

int swoffcpu_oncpu_set_autoload(struct swoffcpu_bpf *skel, int load)
{
	return bpf_program__set_autoload(skel->progs.on_cpu_sample, load != 0);
}

struct swoffcpu_oncpu *swoffcpu_oncpu_attach(struct swoffcpu_bpf *skel, uint32_t hz, int *err, int *cpus)
{
	int ncpus = libbpf_num_possible_cpus();
	struct swoffcpu_oncpu *o;
	struct bpf_link **links;

	*cpus = 0;
	if (ncpus <= 0) {
		*err = ncpus ? ncpus : -ENODEV;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (o) {
		o->fds = calloc(ncpus, sizeof(int));
		o->links = calloc(ncpus, sizeof(struct bpf_link *));
	}
	if (!o || !o->fds || !o->links) {
		if (o) {
			free(o->fds);
			free(o->links);
		}
		free(o);
		*err = -ENOMEM;
		return NULL;
	}
	o->n = ncpus;
	for (int cpu = 0; cpu < ncpus; cpu++)
		o->fds[cpu] = -1;
	links = o->links;
	for (int cpu = 0; cpu < ncpus; cpu++) {
		struct perf_event_attr attr;
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.size = sizeof(attr);
		attr.freq = 1;
		attr.sample_freq = hz;
		fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* an offline CPU */
			*err = -errno;
			swoffcpu_oncpu_detach(o);
			return NULL;
		}
		o->fds[cpu] = fd;
		links[cpu] = bpf_program__attach_perf_event(skel->progs.on_cpu_sample, fd);
		if (!links[cpu]) {
			*err = -errno;
			swoffcpu_oncpu_detach(o);
			return NULL;
		}
		(*cpus)++;
	}
	*err = 0;
	return o;
}

void swoffcpu_oncpu_detach(struct swoffcpu_oncpu *o)
{
	if (!o)
		return;
	for (int cpu = 0; cpu < o->n; cpu++) {
		if (o->links[cpu])
			bpf_link__destroy(o->links[cpu]);
		else if (o->fds[cpu] >= 0)
			close(o->fds[cpu]);
	}
	free(o->fds);
	free(o->links);
	free(o);
}
