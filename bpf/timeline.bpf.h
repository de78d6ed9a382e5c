/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline: every interval of every traced thread, sent to user space as it
 * closes (`timeline_slice`, called from `enter` in accounting.bpf.h: the very
 * intervals summed in the record, so the slices add up to the record's
 * tracepoint times), and who woke each wait (`timeline_waking`, from the
 * sched_waking program). User space builds the Perfetto timeline, the wait-for
 * graph and the critical path from them (Sources/SwoffcpuCore/Timeline*.swift).
 *
 * Off unless the loader sets `timeline` (LoadPlan.timeline): the flag is a
 * `const volatile`, so the verifier removes every branch below and the hot path
 * is the one without it. Only traced threads reach here (callers hold their
 * record). Bounded: the ring buffer's size, and `timeline_full`, set by user space
 * once it has --timeline-limit slices; every slice not sent is counted with the
 * thread time it covered.
 */
#ifndef SWOFFCPU_TIMELINE_BPF_H
#define SWOFFCPU_TIMELINE_BPF_H

/* Set by the loader before load. */
const volatile __u32 timeline = 0;

/* Set by user space (mmap'ed .bss) when it has received --timeline-limit slices. */
__u32 timeline_full = 0;

/* Sized by the loader (a power of two, a multiple of the page size). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} timeline_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWOFFCPU_TL_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} timeline_counters SEC(".maps");

static __always_inline void tl_count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&timeline_counters, &idx);

	if (c)
		*c += n;
}

static __always_inline bool tl_is_wait(__u32 s)
{
	return s == SWOFFCPU_SLEEP || s == SWOFFCPU_SLEEP_D || s == SWOFFCPU_BLOCKED;
}

/*
 * Interrupt context, from the CPU's preempt count (include/linux/preempt.h): a wakeup
 * in a hard interrupt (a timer expiring, a device) has no waking thread — `current` is
 * whoever the interrupt landed on; one in a softirq runs in the context of the thread
 * that raised or serves it (loopback network: the sender). The count is the per-CPU
 * `__preempt_count`, which kallsyms does not list (no CONFIG_KALLSYMS_ALL), so no ksym:
 * its distance from the per-CPU `runqueues` is read by the loader from the kernel's BTF
 * (their offsets in .data..percpu), and this CPU's run queue is the current task's.
 * 0 (`has_preempt_count` unset): no interrupt flag on such kernels.
 */
const volatile __u32 has_preempt_count = 0;
const volatile __s64 preempt_count_from_rq = 0;

#define TL_SOFTIRQ_OFFSET 0x100
#define TL_HARDIRQ_NMI_MASK 0xff0000

static __always_inline __u32 tl_irq_flags(struct task_struct *cur)
{
	struct rq *rq;
	__u32 c = 0;

	if (!has_preempt_count || !bpf_core_field_exists(cur->se.cfs_rq))
		return 0;
	rq = cur->se.cfs_rq->rq;
	if (!rq || bpf_probe_read_kernel(&c, sizeof(c), (char *)rq + preempt_count_from_rq))
		return 0;
	if (c & TL_HARDIRQ_NMI_MASK)
		return SWOFFCPU_TL_F_HARDIRQ;
	if (c & TL_SOFTIRQ_OFFSET)
		return SWOFFCPU_TL_F_SOFTIRQ;
	return 0;
}

/*
 * sched_waking of a traced thread `p` in a wait: note who wakes it (the current task).
 * Also when its record still says on-CPU but the kernel has already taken it off its run
 * queue (on_rq 0): it is between the dequeue in __schedule() and the sched_switch
 * tracepoint (newidle balancing can take tens of us there), and the wait its switch-out is
 * about to open is the one this wakes. A task still queued (on_rq set) is not going to
 * sleep: the kernel only sets it running again (ttwu_runnable), nothing is noted.
 */
static __always_inline void timeline_waking(struct task_acct *a, struct task_struct *p)
{
	struct task_struct *cur;

	if (!timeline)
		return;
	if (!tl_is_wait(a->state) && !(a->state == SWOFFCPU_ON_CPU && !p->on_rq))
		return;
	cur = bpf_get_current_task_btf();
	a->tl_waker_tid = cur->pid;
	a->tl_waker_tgid = cur->tgid;
	a->tl_waker_flags = SWOFFCPU_TL_F_WAKER | tl_irq_flags(cur);
}

/* The interval [from, to) of `t` in state `s` has closed: send it. */
static __always_inline void timeline_slice(struct task_acct *a, struct task_struct *t, __u32 s,
					   __u64 from, __u64 to)
{
	struct swoffcpu_tl_event *e;
	bool wait;

	if (!timeline)
		return;
	wait = tl_is_wait(s);
	if (timeline_full || !(e = bpf_ringbuf_reserve(&timeline_events, sizeof(*e), 0))) {
		tl_count(SWOFFCPU_TL_CTR_DROPPED, 1);
		tl_count(SWOFFCPU_TL_CTR_DROPPED_NS, to - from);
		if (wait)
			a->tl_waker_flags = 0;
		if (s == SWOFFCPU_ON_CPU)
			a->tl_early = 0;
		return;
	}
	e->tid = t->pid;
	e->tgid = t->tgid;
	e->start_ns = from;
	e->end_ns = to;
	e->state = s;
	e->chan = 0;
	e->waker_tid = 0;
	e->waker_tgid = 0;
	e->flags = 0;
	if (s == SWOFFCPU_ON_CPU && a->tl_early) {
		/* The wait before this slice ended `tl_early` ns earlier than its slice said
		 * (`wait_end_early`): user space moves the end of that wait, the runnable slice
		 * after it and the start of this one back by as much (TimelineRing). */
		e->chan = a->tl_early;
		e->flags = SWOFFCPU_TL_F_EARLY;
		a->tl_early = 0;
	}
	if (wait) {
		if (s == SWOFFCPU_BLOCKED) {
			e->chan = a->futex_uaddr;
		} else {
			/* Still inside the syscall it slept in: its number is in the saved registers. */
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);

			if (regs) {
				e->chan = regs->orig_ax;
				e->flags = SWOFFCPU_TL_F_SYSCALL;
			}
		}
		if (a->tl_waker_flags) {
			e->waker_tid = a->tl_waker_tid;
			e->waker_tgid = a->tl_waker_tgid;
			e->flags |= a->tl_waker_flags;
			a->tl_waker_flags = 0;
		}
	}
	/* No wakeup: user space drains the ring on its own schedule, and a notification
	 * would cost an irq_work at every slice sent into an empty ring. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

#endif /* SWOFFCPU_TIMELINE_BPF_H */
