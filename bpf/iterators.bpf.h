/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The task iterators, run by user space (swoffcpu_run_iter in
 * Sources/CSwoffcpuShims/shims.c): seeding gives every thread of the targets
 * its record when the window starts; the dump reads every live thread's record
 * when it ends (or for a live look). Each writes one swoffcpu_thread_rec per
 * thread to the iterator's file.
 */
#ifndef SWOFFCPU_ITERATORS_BPF_H
#define SWOFFCPU_ITERATORS_BPF_H

/* Processes to trace (tgid -> 1); read only when seeding. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} target_tgids SEC(".maps");

/* With -t: the only threads to trace (tid -> 1); read only when seeding. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} target_tids SEC(".maps");

/* Set by the loader: 1 with -t, seed only the threads in `target_tids`. */
const volatile __u32 filter_tids = 0;

/*
 * Seeding: run once (twice, to catch threads born meanwhile) after the
 * tracepoints are attached. Gives every thread of the targets storage and its
 * state at this instant, read from the task itself. Writes one record per
 * seeded thread, so user space learns which threads are traced.
 */
SEC("iter/task")
int seed_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct swoffcpu_thread_rec r = {};
	struct task_acct *a;
	__u32 tgid, tid;
	__u64 now;

	if (!t)
		return 0;
	tgid = t->tgid;
	tid = t->pid;
	if (!target_wanted(t) && !bpf_map_lookup_elem(&target_tgids, &tgid))
		return 0;
	if (filter_tids && !bpf_map_lookup_elem(&target_tids, &tid))
		return 0;
	if (t->flags & 0x4 /* PF_EXITING */)
		return 0;
	a = get_or_create(t);
	if (!a)
		return 0;
	now = bpf_ktime_get_ns();
	if (!begin_trace(t, a, now, SWOFFCPU_F_SEEDED)) /* targets.bpf.h */
		return 0; /* already traced: seeded before, or born since attach */
	fill_rec(&r, t, a, now, false);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}


/*
 * The user stacks of threads found off-CPU at seeding, which seeding itself
 * cannot read (stacks.bpf.h, seed_user_stack). Sleepable; run once after seeding.
 */
SEC("iter.s/task")
int seed_user_stacks(struct bpf_iter__task *ctx)
{
	return seed_user_stack(ctx);
}

/* Dump: one record per traced live thread, its open interval closed at the window end. */
SEC("iter/task")
int dump_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct swoffcpu_thread_rec r = {};
	struct task_acct *a;
	__u64 end;

	if (!t)
		return 0;
	a = bpf_task_storage_get(&acct, t, 0, 0);
	if (!a && pending_n)
		a = adopt(t); /* a record still waiting for storage (task.bpf.h) */
	if (!a)
		return 0;
	end = window_end_ns;
	if (end) {
		/* Final: close the open interval in the storage itself, adding its stack
		 * (and lock) time once; an exit after this (frozen) adds nothing. A wait
		 * that was woken before the end and is still queued is runnable from
		 * its wakeup. */
		if (queue_clock && is_wait(a->state)) {
			__u64 woken = woken_at(a, bpf_ktime_get_ns(), kernel_run_delay(t));

			if (woken < end)
				wake_up(a, t, woken);
		}
		close_at(t, a, end);
	}
	else
		end = bpf_ktime_get_ns(); /* a live look while tracing */
	fill_rec(&r, t, a, end, false);
	if (!window_end_ns)
		live_wakeup(&r, t, a, end); /* targets.bpf.h */
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

#endif /* SWOFFCPU_ITERATORS_BPF_H */
