/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The four-state accounting of a traced thread: each switch, wakeup, birth and
 * exit closes the current interval and enters the next state (`enter`), adding
 * the interval to its stacks' time (stacks.bpf.h) and a futex wait to its lock
 * (futex.bpf.h). Also the kernel's own clocks of a thread (schedstat), which
 * time wakeups at switch-in and rebuild switches the programs missed
 * (`catch_up`), and the records sent to user space (`fill_rec`; at exit
 * through the `exits` ring buffer).
 */
#ifndef SWOFFCPU_ACCOUNTING_BPF_H
#define SWOFFCPU_ACCOUNTING_BPF_H

/*
 * Where a wakeup is timed. 1 (kernels with CONFIG_SCHED_INFO, i.e. schedstat): at
 * switch-in, from the kernel's own run-queue wait since the switch-out (see
 * `woken_at`), and no sched_wakeup program is loaded: that spares a program run at
 * every wakeup of the machine, traced or not. 0: the sched_wakeup hook times it.
 */
const volatile __u32 queue_clock = 1;

/* Records of threads that exit while traced. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} exits SEC(".maps");

/* A task's run queue (through its group run queue: the per-CPU `runqueues` is not in
 * kallsyms without CONFIG_KALLSYMS_ALL). */
static __always_inline struct rq *task_rq_of(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return NULL;
	return t->se.cfs_rq->rq;
}

/* The run queue's counters of time taken from its tasks' clock (update_rq_clock_task):
 * steal (CONFIG_PARAVIRT_TIME_ACCOUNTING) and interrupts (CONFIG_IRQ_TIME_ACCOUNTING).
 * Either field may be missing from a kernel: then it reads 0. */
struct rq___steal {
	u64 prev_steal_time_rq;
} __attribute__((preserve_access_index));

struct rq___irq {
	u64 prev_irq_time;
} __attribute__((preserve_access_index));

static __always_inline void rq_taken(struct task_struct *t, __u64 *steal, __u64 *irq)
{
	struct rq *rq = task_rq_of(t);

	*steal = 0;
	*irq = 0;
	if (!rq)
		return;
	if (bpf_core_field_exists(((struct rq___steal *)0)->prev_steal_time_rq))
		*steal = ((struct rq___steal *)rq)->prev_steal_time_rq;
	if (bpf_core_field_exists(((struct rq___irq *)0)->prev_irq_time))
		*irq = ((struct rq___irq *)rq)->prev_irq_time;
}

/*
 * The steal and interrupt time of an on-CPU slice: what the run queue's counters grew by
 * since the slice began (their marks), capped at the slice's wall time that its task
 * clock did not count (`wall - ran`: the tracepoints' slice less its sum_exec_runtime).
 * The cap matters: when a wakeup brings an idle CPU back, __schedule skips its clock
 * update (rq_clock_skip_update), so the counters at the switch-in are stale and their
 * next growth holds the steal of the vCPU's own wake-up, before the thread ran — seen as
 * 20 % of a mutex convoy's on-CPU time on a busy host. Capped, a slice never gets more
 * than the time it held the CPU without the task clock running.
 */
static __always_inline void slice_taken(struct task_acct *a, struct task_struct *t, __u64 wall, __u64 ran,
					__u64 *stolen, __u64 *irq)
{
	__u64 steal, ir, gap = wall > ran ? wall - ran : 0;

	rq_taken(t, &steal, &ir);
	*stolen = steal > a->steal_mark ? steal - a->steal_mark : 0;
	if (*stolen > gap)
		*stolen = gap;
	gap -= *stolen;
	*irq = ir > a->irq_mark ? ir - a->irq_mark : 0;
	if (*irq > gap)
		*irq = gap;
}

/* An on-CPU slice begins at `now`: the counters' marks (see slice_taken). */
static __always_inline void on_cpu_slice_start(struct task_acct *a, struct task_struct *t, __u64 now)
{
	rq_taken(t, &a->steal_mark, &a->irq_mark);
	a->slice_since = now;
}

/*
 * The wait before an on-CPU slice ended earlier than its switch-in says: when a wakeup
 * brings an idle CPU back (or preempts the running task), __schedule does not re-read its
 * run queue's clock (rq_clock_skip_update), so the kernel stamps the switch-in with the clock
 * of the enqueue: the thread's run-queue wait (run_delay) ends there, and its on-CPU time
 * (sum_exec_runtime) starts there, 5-25 us a wakeup on a VM before the tracepoint fires. The
 * switch-in's `woken_at` keeps the kernel's run-queue wait but not that gap, which the
 * tracepoints put at the end of the wait. Known at the slice's end: the kernel counted `ran`
 * ns of a slice the tracepoints saw last `wall`; the excess (at most the wait) moves from the
 * wait to on-CPU, and from the futex wait's lock when it was one. Then, per thread, blocked
 * is its futex waits, and the off-CPU states are the kernel's (what the kernel's clocks give
 * on-CPU and runnable is no longer taken from them when reconciled: KernelClocks.swift).
 */
static __always_inline void wait_end_early(struct task_acct *a, struct task_struct *t, __u64 wall, __u64 ran)
{
	__u32 s = a->woke_state;
	__u64 e;

	a->woke_state = SWOFFCPU_NSTATES;
	if (s == SWOFFCPU_ON_CPU || s >= SWOFFCPU_NSTATES || ran <= wall)
		return;
	e = ran - wall;
	/* Wakeups timed by the sched_wakeup hook (no queue_clock): the wait ended at the hook,
	 * and the gap is at the end of the runnable time that followed. */
	if (!queue_clock)
		s = SWOFFCPU_RUNNABLE;
	else if (e > a->woke_len)
		e = a->woke_len;
	if (e > a->ns[s])
		e = a->ns[s];
	if (!e)
		return;
	a->ns[s] -= e;
	a->ns[SWOFFCPU_ON_CPU] += e;
	if (timeline)
		a->tl_early = e; /* the timeline's slices move with it (timeline_slice) */
	if (s == SWOFFCPU_BLOCKED)
		shorten_futex_wait(t, a->woke_uaddr, a->woke_op, e);
}

/* The on-CPU slice that began at a->slice_since (with a->mark_on_cpu) ends at `now`. */
static __always_inline void on_cpu_slice_end(struct task_acct *a, struct task_struct *t, __u64 now)
{
	__u64 sum = t->se.sum_exec_runtime, stolen, irq;
	__u64 wall = now > a->slice_since ? now - a->slice_since : 0;
	__u64 ran = sum > a->mark_on_cpu ? sum - a->mark_on_cpu : 0;

	slice_taken(a, t, wall, ran, &stolen, &irq);
	a->stolen_ns += stolen;
	a->irq_ns += irq;
	wait_end_early(a, t, wall, ran);
}

/* Close the current interval at `now` and enter `state`. */
static __always_inline void enter(struct task_acct *a, struct task_struct *t, __u32 state,
				  __u64 now)
{
	__u32 s = a->state;

	if (s == SWOFFCPU_ON_CPU && state != SWOFFCPU_ON_CPU)
		on_cpu_slice_end(a, t, now);
	else if (s != SWOFFCPU_ON_CPU && state == SWOFFCPU_ON_CPU)
		on_cpu_slice_start(a, t, now);

	/* Timestamps from two CPUs can be a hair out of order: never let `since`
	 * move back, or the next interval would be counted twice. */
	if (now > a->since) {
		__u64 d = now - a->since;

		if (s < SWOFFCPU_NSTATES) {
			a->ns[s] += d;
			if (timeline) /* a constant the verifier folds: without it, no code here */
				timeline_slice(a, t, s, a->since, now);
			if (s != SWOFFCPU_ON_CPU && a->weight)
				add_stack_time(a, t, s, d * a->weight);
		}
		a->since = now;
	}
	a->state = state;
}

/*
 * The kernel's own per-thread clocks, which /proc/PID/task/TID/schedstat shows:
 * on-CPU time (se.sum_exec_runtime, on the run queue's task clock) and
 * run-queue wait (sched_info.run_delay). They do not tick in real time: a
 * running thread's current slice is added at its next update, a queued thread's
 * current wait when it is switched in. These readers add the part in progress,
 * from the run queue's clocks (reached through the task's group run queue: the
 * per-CPU `runqueues` is not in kallsyms without CONFIG_KALLSYMS_ALL).
 *
 * Why: the kernel stamps a switch with its run queue's clock, which it does not
 * re-read when a wakeup has just asked for the reschedule, so a thread woken
 * onto an idle CPU is on-CPU by the kernel's accounting while the CPU leaves
 * idle; tracepoint timestamps put that time in runnable (5-25 us a switch on a
 * VM). The records carry both; user space splits on-CPU from runnable by the
 * kernel's clocks (see Sources/SwoffcpuCore/KernelClocks.swift).
 */

static __always_inline __u64 kernel_on_cpu(struct task_struct *t, bool running)
{
	__u64 v = t->se.sum_exec_runtime;
	struct rq *rq;

	/* exec_start is 0 after a migration until the task runs again. */
	if (running && t->se.exec_start && (rq = task_rq_of(t))) {
		__u64 clock = rq->clock_task;
		__u64 start = t->se.exec_start;

		if (clock > start)
			v += clock - start;
	}
	return v;
}

static __always_inline __u64 kernel_run_delay(struct task_struct *t)
{
	__u64 v, queued;
	struct rq *rq;

	if (!bpf_core_field_exists(t->sched_info.run_delay))
		return 0;
	v = t->sched_info.run_delay;
	queued = t->sched_info.last_queued;
	/* Only a runnable task is waiting in a queue. A sleeping one can hold a stale
	 * last_queued (seen on 6.18, a thread asleep in poll() all along, likely a
	 * delayed-dequeue path that re-enqueues without a dequeue to clear it): adding
	 * clock - last_queued then made the whole sleep look like a run-queue wait. */
	if (queued && task_state(t) == TASK_RUNNING && (rq = task_rq_of(t))) {
		__u64 clock = rq->clock;

		if (clock > queued)
			v += clock - queued;
	}
	return v;
}

/*
 * `switched_out`: filled at the thread's own (last) switch-out, where the kernel has
 * already brought its sum_exec_runtime up to date (update_curr at the dequeue): the
 * task is still on_cpu, but its run queue's clock may have moved on since (newidle
 * balancing before the tracepoint), and that time is not the thread's.
 */
static __always_inline void fill_rec(struct swoffcpu_thread_rec *r, struct task_struct *t,
				     struct task_acct *a, __u64 end, bool switched_out)
{
	r->tid = t->pid;
	r->tgid = t->tgid;
	r->start_ns = a->start_ns;
	r->end_ns = end > a->since ? end : a->since; /* sum(ns) == end_ns - start_ns */
	for (int i = 0; i < SWOFFCPU_NSTATES; i++)
		r->ns[i] = a->ns[i];
	if (a->state < SWOFFCPU_NSTATES && end > a->since)
		r->ns[a->state] += end - a->since;
	r->switches = a->switches;
	r->wakeups = a->wakeups;
	r->flags = a->flags;
	r->state = a->state;
	for (int i = 0; i < SWOFFCPU_NSTATES; i++)
		r->stack_lost_ns[i] = a->stack_lost_ns[i];
	if (bpf_core_field_exists(t->se.cfs_rq) && bpf_core_field_exists(t->sched_info.last_queued)) {
		/* Running by the kernel's account, not the record's: a record whose
		 * switch-out was missed says on-CPU for a thread that is not. */
		__u64 on = kernel_on_cpu(t, t->on_cpu && !switched_out);
		__u64 rd = kernel_run_delay(t);

		r->kernel_on_cpu_ns = on > a->kernel_on_cpu0 ? on - a->kernel_on_cpu0 : 0;
		r->kernel_run_delay_ns = rd > a->kernel_run_delay0 ? rd - a->kernel_run_delay0 : 0;
		r->flags |= SWOFFCPU_F_KCLOCKS;
	}
	r->stolen_ns = a->stolen_ns;
	r->irq_ns = a->irq_ns;
	if (t->on_cpu && a->state == SWOFFCPU_ON_CPU && end > a->slice_since) {
		/* The slice in progress, as kernel_on_cpu adds it. */
		__u64 sum = kernel_on_cpu(t, !switched_out), stolen, irq;

		slice_taken(a, t, end - a->slice_since, sum > a->mark_on_cpu ? sum - a->mark_on_cpu : 0, &stolen, &irq);
		r->stolen_ns += stolen;
		r->irq_ns += irq;
	}
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), t->comm);
}

static __always_inline bool is_wait(__u32 state)
{
	return state == SWOFFCPU_SLEEP || state == SWOFFCPU_SLEEP_D || state == SWOFFCPU_BLOCKED;
}

/* A wait (sleep, sleep D, blocked) ends at `when`: the thread is runnable from then on. */
static __always_inline void wake_up(struct task_acct *a, struct task_struct *p, __u64 when)
{
	/* For `wait_end_early` at the end of the slice that follows. */
	a->woke_state = a->state;
	a->woke_len = when > a->since ? when - a->since : 0;
	a->woke_uaddr = a->futex_uaddr;
	a->woke_op = a->futex_op;
	if (a->state == SWOFFCPU_BLOCKED)
		end_futex_wait(p, a, when);
	enter(a, p, SWOFFCPU_RUNNABLE, when);
	a->wakeups++;
}

/*
 * When a waiting thread, seen at `now` still off-CPU or being switched in, was
 * woken: `now` less the run-queue wait the kernel counted since the thread's
 * switch-out (sched_info.run_delay, with the wait in progress; it includes waits on
 * other CPUs' queues before a migration). At sched_switch the kernel has not yet
 * added next's current wait (sched_info_switch runs after the tracepoint), so the
 * wait in progress is read from last_queued and the run queue's clock, the very
 * values the kernel is about to use (`rd`: kernel_run_delay of the thread now).
 * `now` when the thread was not woken.
 */
static __always_inline __u64 woken_at(struct task_acct *a, __u64 now, __u64 rd)
{
	__u64 queued = rd > a->mark_run_delay ? rd - a->mark_run_delay : 0;

	if (now <= a->since || now - a->since <= queued)
		return a->since;
	return now - queued;
}

/*
 * Closes the open interval at `end` (the window end, or the thread's exit) in the
 * storage itself: a futex wait still open is summed up to `end`, and the
 * interval's stack time is added — once: a later call finds since == end.
 */
static __always_inline void close_at(struct task_struct *t, struct task_acct *a, __u64 end)
{
	if (a->state == SWOFFCPU_BLOCKED && end > a->since)
		end_futex_wait(t, a, end);
	enter(a, t, a->state, end);
}

/*
 * A thread's last switch-out (TASK_DEAD): close its record, send it to user
 * space and free the storage. Done here rather than at sched_process_exit,
 * which fires before the thread has finished exiting: the CPU time of the
 * exit itself (files, signals, exit_notify) stays the thread's, as the kernel
 * counts it. After the window end the record is still sent (closed at the
 * window end and not marked exited): the storage is about to disappear.
 */
static __always_inline void finish_thread(struct task_struct *p, struct task_acct *a, __u64 now)
{
	struct swoffcpu_thread_rec *r;
	__u64 end = window_end_ns;

	if (!end || now <= end) {
		a->flags |= SWOFFCPU_F_EXITED;
		end = now;
	}
	/* Close the last interval here, so that its stack time is added exactly once
	 * (and a futex wait frozen at the window end is summed, if the dump did not). */
	close_at(p, a, end);
	r = bpf_ringbuf_reserve(&exits, sizeof(*r), 0);
	if (r) {
		fill_rec(r, p, a, end, true);
		bpf_ringbuf_submit(r, 0);
	} else {
		count(SWOFFCPU_CTR_RINGBUF_DROP, 1);
		count(SWOFFCPU_CTR_RINGBUF_DROP_NS, end > a->start_ns ? end - a->start_ns : 0);
	}
	bpf_task_storage_delete(&acct, p);
}

/*
 * Some switches never reach the record (about 0.05 % of a sleep loop's; cause
 * not pinned down — bpf_task_storage_get() in a tracing program finds nothing
 * while the kernel's per-CPU task-storage guard is held by a preempted
 * process-context operation, for one). A switch-out of a thread not on-CPU in
 * its record means its switch-in was missed; a switch-in of a thread on-CPU in
 * its record, its switch-out. The kernel's clocks since the last switch seen
 * (the marks) tell how the interval
 * splits: on-CPU time from sum_exec_runtime, run-queue wait from run_delay, the
 * rest the wait it was in (at a missed switch-out, guessed from the saved
 * registers: a futex wait or a sleep). Counted, and shown with the report.
 */
static __always_inline void catch_up(struct task_struct *t, struct task_acct *a, __u64 now, bool switching_in)
{
	__u64 span = now > a->since ? now - a->since : 0;
	__u64 on = t->se.sum_exec_runtime, rd = kernel_run_delay(t);
	__u64 t_run;

	on = on > a->mark_on_cpu ? on - a->mark_on_cpu : 0;
	rd = rd > a->mark_run_delay ? rd - a->mark_run_delay : 0;
	if (on > span)
		on = span;
	if (rd > span - on)
		rd = span - on;
	count(SWOFFCPU_CTR_MISSED_SWITCHES, 1);
	if (switching_in) {
		/* on-CPU, then the wait, then queued: [since, since+on), ..., [now-rd, now) */
		enter(a, t, in_futex_wait(t, a) ? SWOFFCPU_BLOCKED : SWOFFCPU_SLEEP, a->since + on);
		a->switches++;
		wake_up(a, t, now - rd);
		return;
	}
	/* the wait (or the queue), then queued, then on-CPU since the missed switch-in */
	t_run = now - on;
	if (is_wait(a->state))
		wake_up(a, t, t_run - rd);
	enter(a, t, SWOFFCPU_ON_CPU, t_run);
}

/* The kernel's clocks at a switch seen (`rd`: kernel_run_delay), for `woken_at` and `catch_up`. */
static __always_inline void mark(struct task_struct *t, struct task_acct *a, __u64 rd)
{
	a->mark_run_delay = rd;
	a->mark_on_cpu = t->se.sum_exec_runtime;
}

#endif /* SWOFFCPU_ACCOUNTING_BPF_H */
