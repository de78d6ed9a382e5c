#include "swoffcpu_follow.h"

#include <errno.h>
#include <bpf/libbpf.h>

#include "swoffcpu.skel.h"

int swoffcpu_follow_configure(struct swoffcpu_bpf *skel, uint32_t follow_processes, uint32_t process_events)
{
	int err;

	skel->rodata->follow_processes = follow_processes;
	err = bpf_program__set_autoload(skel->progs.on_exec, process_events != 0);
	if (!err)
		err = bpf_program__set_autoload(skel->progs.on_process_exit, process_events != 0);
	return err;
}

int swoffcpu_follow_attach(struct swoffcpu_bpf *skel)
{
	struct bpf_program *progs[] = { skel->progs.on_exec, skel->progs.on_process_exit };
	struct bpf_link **links[] = { &skel->links.on_exec, &skel->links.on_process_exit };

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i]) || *links[i])
			continue;
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i]) {
			int err = -errno;
			swoffcpu_follow_detach(skel);
			return err;
		}
	}
	return 0;
}

void swoffcpu_follow_detach(struct swoffcpu_bpf *skel)
{
	bpf_link__destroy(skel->links.on_exec);
	skel->links.on_exec = NULL;
	bpf_link__destroy(skel->links.on_process_exit);
	skel->links.on_process_exit = NULL;
}

int swoffcpu_proc_events_fd(struct swoffcpu_bpf *skel)
{
	return bpf_map__fd(skel->maps.proc_events);
}

uint64_t swoffcpu_proc_events_dropped(struct swoffcpu_bpf *skel)
{
	return __atomic_load_n(&skel->bss->proc_events_dropped, __ATOMIC_RELAXED);
}
