/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * On-CPU stack sampling (--on-cpu[=HZ]): a software cpu-clock perf event per CPU
 * (it works in VMs, where hardware counters often do not) fires this program HZ
 * times a second on each CPU. A traced thread found running there has both its
 * stacks walked and the sample's period (ns of cpu-clock) added to its stack
 * time under SWOFFCPU_ON_CPU, in the map the off-CPU intervals use
 * (stacks.bpf.h); `intervals` counts the samples. User space scales each thread's samples to its exact on-CPU
 * time (StackAttribution), as it does the sampled off-CPU intervals.
 *
 * Every other task is dropped first, by traced() (a tgid compare with few
 * targets), before any stack is read. Loaded and attached only when asked
 * (LoadPlan.programs.onCPUSample).
 */
#ifndef SWOFFCPU_ONCPU_BPF_H
#define SWOFFCPU_ONCPU_BPF_H

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct swoffcpu_stack_key key = { .state = SWOFFCPU_ON_CPU };
	struct swoffcpu_stack_val *v, nv = { .intervals = 1 };
	struct swoffcpu_stack *buf;
	struct task_acct *a;
	bool added = false;
	__u32 zero = 0;
	__u64 period;

	a = traced(t);
	if (!a || !event_time())
		return 0;
	/* A sample between a switch's tracepoint and the switch itself, or in an
	 * interval the record has not caught up with: not on-CPU by the record. */
	if (a->state != SWOFFCPU_ON_CPU)
		return 0;
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	period = ctx->sample_period ? ctx->sample_period : 1;
	key.tid = t->pid;
	key.user_stack = walk_user ? walk_user_stack(ctx, buf) : SWOFFCPU_STACK_NONE;
	key.kernel_stack = walk_kernel ? store_stack(&kernel_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), 0),
						     &added, 0, false)
				       : SWOFFCPU_STACK_NONE;
	nv.weighted_ns = period;
	v = bpf_map_lookup_elem(&stack_time, &key);
	if (!v && bpf_map_update_elem(&stack_time, &key, &nv, BPF_NOEXIST) == 0)
		return 0;
	if (!v)
		v = bpf_map_lookup_elem(&stack_time, &key); /* lost a race to another CPU */
	if (v) {
		__sync_fetch_and_add(&v->weighted_ns, period);
		__sync_fetch_and_add(&v->intervals, 1);
		return 0;
	}
	a->stack_lost_ns[SWOFFCPU_ON_CPU] += period;
	count(SWOFFCPU_CTR_STACK_TIME_FULL, 1);
	return 0;
}

#endif /* SWOFFCPU_ONCPU_BPF_H */
