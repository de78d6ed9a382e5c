#include "swoffcpu_shims.h"
#include "swoffcpu_targets.h"

#include <errno.h>
#include <bpf/libbpf.h>

#include "swoffcpu.skel.h"

int swoffcpu_configure_targets(struct swoffcpu_bpf *skel, const struct swoffcpu_targets_plan *plan)
{
	skel->rodata->target_mode = plan->mode;
	skel->rodata->target_cgroup_id = plan->cgroup_id;
	skel->rodata->target_cgroup_level = plan->cgroup_level;
	/* Records wait there for task storage only with --cgroup and -a (bpf/task.bpf.h). */
	if (plan->mode == SWOFFCPU_TARGET_PIDS) {
		int err = bpf_map__set_max_entries(skel->maps.acct_pending, 1);

		if (err)
			return err;
	}
	return bpf_program__set_autoload(skel->progs.on_cgroup_attach, plan->on_cgroup_attach != 0);
}

int swoffcpu_attach_targets(struct swoffcpu_bpf *skel)
{
	if (!bpf_program__autoload(skel->progs.on_cgroup_attach) || skel->links.on_cgroup_attach)
		return 0;
	skel->links.on_cgroup_attach = bpf_program__attach(skel->progs.on_cgroup_attach);
	return skel->links.on_cgroup_attach ? 0 : -errno;
}

uint64_t swoffcpu_pending_records(struct swoffcpu_bpf *skel)
{
	return __atomic_load_n(&skel->bss->pending_n, __ATOMIC_RELAXED);
}

void swoffcpu_detach_targets(struct swoffcpu_bpf *skel)
{
	bpf_link__destroy(skel->links.on_cgroup_attach);
	skel->links.on_cgroup_attach = NULL;
}
