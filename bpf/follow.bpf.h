/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Following processes (`--follow`) and the process tree (`-- COMMAND`, `--follow`).
 *
 * With `follow_processes`, a process created by a traced task (fork, vfork, clone
 * without CLONE_THREAD) is traced from birth: the fork hook (swoffcpu.bpf.c, on_fork)
 * gives its first thread storage as it does a new thread's, after `follow_process`
 * said yes. Every later hook then finds it by its task storage: with following on,
 * the loader leaves the fast tgid filter empty (the new processes' tgids are not in
 * it), so the cost for an untraced task is one task-storage lookup that finds
 * task->bpf_storage NULL.
 *
 * Births, execs and exits of traced processes go to user space through `proc_events`
 * (the process tree, the command line read from the new image's stack at exec, the
 * exit status; an exec also tells user space to take the new image's symbols). The
 * exec and exit hooks run at those events only, and do nothing for untraced tasks.
 */
#ifndef SWOFFCPU_FOLLOW_BPF_H
#define SWOFFCPU_FOLLOW_BPF_H

/* Set by the loader: 1 with --follow. */
const volatile __u32 follow_processes = 0;

/* Events lost because `proc_events` was full (read by user space, shown in the report). */
__u64 proc_events_dropped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} proc_events SEC(".maps");

static __always_inline struct swoffcpu_proc_event *proc_event(__u32 type, struct task_struct *t)
{
	struct swoffcpu_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&proc_events_dropped, 1);
		return NULL;
	}
	e->type = type;
	e->pid = t->tgid;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->exit_code = 0;
	e->time_ns = bpf_ktime_get_ns();
	e->args_len = 0;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), t->comm);
	return e;
}

/*
 * Called by the fork hook for a new process created by a traced task: whether to
 * trace it (--follow), and if so its birth is sent to user space.
 */
static __always_inline bool follow_process(struct task_struct *parent, struct task_struct *child)
{
	struct swoffcpu_proc_event *e;

	if (!follow_processes)
		return false;
	e = proc_event(SWOFFCPU_PROC_FORK, child);
	if (e)
		bpf_ringbuf_submit(e, 0);
	return true;
}

/* A traced process exec'ed: its new comm and command line (argv, from the new stack). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct swoffcpu_proc_event *e;
	__u64 start, end, len;

	if (!traced(p))
		return 0;
	e = proc_event(SWOFFCPU_PROC_EXEC, p);
	if (!e)
		return 0;
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > SWOFFCPU_ARGS_LEN)
		len = SWOFFCPU_ARGS_LEN;
	/* The kernel has just written argv there: the pages are present. */
	if (len && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A traced process's last thread is exiting: its status, as wait(2) will see it. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_process_exit, struct task_struct *p)
{
	struct swoffcpu_proc_event *e;

	if (!traced(p))
		return 0;
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0; /* other threads still run: not the process's exit */
	e = proc_event(SWOFFCPU_PROC_EXIT, p);
	if (!e)
		return 0;
	if (BPF_CORE_READ(p, signal, flags) & 0x4 /* SIGNAL_GROUP_EXIT */)
		e->exit_code = BPF_CORE_READ(p, signal, group_exit_code);
	else
		e->exit_code = p->exit_code;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif /* SWOFFCPU_FOLLOW_BPF_H */
