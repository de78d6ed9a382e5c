// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * swoffcpu: four-state accounting of every thread of the traced processes.
 *
 * Each traced thread carries a small record in task storage (freed with the
 * task, so thread churn cannot fill a map): its current state, since when,
 * and the time summed per state. sched_switch moves it between states (a
 * wakeup is timed at the switch-in that follows, from the kernel's run-queue
 * clock: no program runs at wakeups); nothing is sent to user space per event. User space reads the
 * records with the `dump_threads` task iterator at the end (or for a live
 * view), and receives the records of exiting threads through a ring buffer.
 *
 * This file holds the scheduler tracepoints, the entry points of every event;
 * the code behind them is split by concern into headers, each included here
 * once (one object: one skeleton, one load, the programs inlined as before):
 *
 *   task.bpf.h        which tasks are traced, their record (task storage), counters
 *   python.bpf.h      Python frame chains (CPython), read at user stack walks
 *   timeline.bpf.h    --timeline: every interval and its waker, through a ring buffer
 *   stacks.bpf.h      stack walking: sampling, stack maps, leaf context, time per stack
 *   unwind.bpf.h      DWARF unwinding of user stacks from tables built from .eh_frame
 *   futex.bpf.h       futex waits (from the saved registers), time per lock, wakers
 *   accounting.bpf.h  the state machine, the kernel's clocks, missed switches, records
 *   targets.bpf.h     --cgroup and -a: who is a target, tasks moved in and out of the cgroup
 *   iterators.bpf.h   the seed and dump task iterators, run by user space
 *   follow.bpf.h      following new processes; births, execs and exits to user space
 *   oncpu.bpf.h       on-CPU stack sampling from a perf event per CPU (--on-cpu)
 *
 * bpf/swoffcpu.h is the one header shared with user space. The loader
 * (Sources/SwoffcpuBPF/LoadPlan.swift) decides which programs load, sets the
 * `const volatile` globals and sizes the maps before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "swoffcpu.h"
#include "task.bpf.h"
#include "python.bpf.h"
#include "timeline.bpf.h"
#include "stacks.bpf.h"
#include "unwind.bpf.h"
#include "futex.bpf.h"
#include "accounting.bpf.h"
#include "targets.bpf.h"
#include "iterators.bpf.h"
#include "follow.bpf.h"
#include "oncpu.bpf.h"

/* Set by the loader before load. */
const volatile __u32 follow_threads = 1; /* threads created by a traced thread are traced */

/*
 * Every context switch of the machine: the thread going off-CPU (prev) closes its
 * on-CPU interval and enters runnable, a sleep or a futex wait, its stacks walked
 * (or not: sampling); the thread coming on (next) ends its wait, timed by the
 * kernel's run-queue clock, and its queueing. A thread's last switch-out sends
 * its record to user space.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct task_acct *a;
	__u64 now = 0;

	a = traced(prev);
	if (a) {
		now = event_time();
		if (now && a->state != SWOFFCPU_ON_CPU)
			catch_up(prev, a, now, false);
	}
	if (a && (prev_state & TASK_DEAD)) {
		finish_thread(prev, a, bpf_ktime_get_ns());
		if (pending_n)
			forget_pending(prev); /* its record was still waiting for storage */
		a = NULL;
	}
	if (a) {
		if (!now)
			return 0;
		/* Preempted, or yielding, the task stays on the run queue. */
		if (preempt || prev_state == TASK_RUNNING)
			enter(a, prev, SWOFFCPU_RUNNABLE, now);
		else
			enter(a, prev, sleep_state(prev, a, prev_state), now);
		mark(prev, a, kernel_run_delay(prev));
		a->switches++;
		walk_stacks(ctx, a, now);
		count(SWOFFCPU_CTR_EVENTS, 1);
		count(SWOFFCPU_CTR_SWITCH_OUTS, 1);
	}

	a = traced(next);
	if (a) {
		if (!now)
			now = event_time();
		if (!now)
			return 0;
		if (a->state == SWOFFCPU_ON_CPU)
			catch_up(next, a, now, true);
		__u64 rd = kernel_run_delay(next); /* read once: the wakeup's time and the mark */
		if (queue_clock && is_wait(a->state))
			wake_up(a, next, woken_at(a, now, rd));
		enter(a, next, SWOFFCPU_ON_CPU, now);
		mark(next, a, rd);
		a->weight = 0; /* the off-CPU period is over */
		count(SWOFFCPU_CTR_EVENTS, 1);
	}
	return 0;
}

/* Loaded only when stacks are walked or with the timeline: who releases a blocked
 * thread (futex.bpf.h), who wakes any wait (timeline.bpf.h). */
SEC("tp_btf/sched_waking")
int BPF_PROG(on_waking, struct task_struct *p)
{
	return handle_waking(ctx, p);
}

/* Only without queue_clock: times the wakeup when it happens. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	struct task_acct *a = traced(p);
	__u64 now;

	/* A wakeup of a task that is running or already queued changes nothing. */
	if (!a || !is_wait(a->state))
		return 0;
	now = event_time();
	if (!now)
		return 0;
	wake_up(a, p, now);
	count(SWOFFCPU_CTR_EVENTS, 1);
	return 0;
}

/* A thread created by a traced thread is traced from birth, runnable until it first runs;
 * so is a new process with --follow (follow.bpf.h). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_acct *a;
	__u64 now;

	if (!follow_threads)
		return 0;
	if (target_mode != SWOFFCPU_TARGET_PIDS)
		return fork_target(child); /* targets.bpf.h */
	if (!traced(parent))
		return 0;
	if (child->tgid != parent->tgid && !follow_process(parent, child))
		return 0; /* a new process, not followed */
	now = event_time();
	if (!now)
		return 0;
	a = get_or_create(child);
	if (!a)
		return 0;
	if (a->since)
		return 0; /* the seed iterator got there first */
	begin_born(child, a, now); /* targets.bpf.h */
	count(SWOFFCPU_CTR_EVENTS, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
