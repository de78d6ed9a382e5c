/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Futex waits and their wakers: whether a thread going to sleep is in a futex
 * wait (read from its saved registers, no syscall hook), the time per lock,
 * and, for walked waits, who woke the waiter and from which stacks.
 *
 * The wait's futex and its waker live in the thread's record (task.bpf.h);
 * accounting.bpf.h calls end_futex_wait() when a blocked interval ends.
 */
#ifndef SWOFFCPU_FUTEX_BPF_H
#define SWOFFCPU_FUTEX_BPF_H

/* x86_64 syscall numbers of the futex waits. */
#define NR_futex       202
#define NR_futex_waitv 449
#define NR_futex_wait  455

/* futex(2) commands that put the caller to sleep on the futex word. */
#define FUTEX_WAIT            0
#define FUTEX_LOCK_PI         6
#define FUTEX_WAIT_BITSET     9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2        13
#define FUTEX_CMD_MASK        0x7f /* drops FUTEX_PRIVATE_FLAG (128) and CLOCK_REALTIME (256) */

/* Futex waits per (process, waiter, futex). Sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct swoffcpu_lock_key);
	__type(value, struct swoffcpu_lock_val);
} lock_waits SEC(".maps");

/* Walked futex waits per (waiter stacks, waker and its stacks). Sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct swoffcpu_waker_key);
	__type(value, struct swoffcpu_waker_val);
} lock_wakers SEC(".maps");

/*
 * Is the task sleeping inside a futex wait? The answer is in its saved user
 * registers: the syscall number (orig_ax) and the futex op (second argument).
 * Reading them here costs a few loads, where syscall hooks would run on every
 * syscall of the machine. On a wait, its futex address and op.
 */
static __always_inline bool futex_wait_regs(struct task_struct *t, __u64 *uaddr, __u32 *op)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	long nr;
	__u32 cmd;

	if (!regs)
		return false;
	nr = regs->orig_ax;
	if (nr == NR_futex) {
		cmd = regs->si & FUTEX_CMD_MASK;
		if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI &&
		    cmd != FUTEX_LOCK_PI2 && cmd != FUTEX_WAIT_REQUEUE_PI)
			return false;
	} else if (nr == NR_futex_wait) {
		cmd = SWOFFCPU_OP_FUTEX_WAIT2;
	} else if (nr == NR_futex_waitv) {
		cmd = SWOFFCPU_OP_FUTEX_WAITV;
	} else {
		return false;
	}
	*uaddr = regs->di;
	*op = cmd;
	return true;
}

/* A futex wait, its address and op kept in `a`. */
static __always_inline bool in_futex_wait(struct task_struct *t, struct task_acct *a)
{
	__u64 uaddr;
	__u32 op;

	if (!futex_wait_regs(t, &uaddr, &op))
		return false;
	a->futex_uaddr = uaddr;
	a->futex_op = op;
	return true;
}

/* The off-CPU state of a task that is not runnable, from its task state. */
static __always_inline __u32 sleep_state(struct task_struct *t, struct task_acct *a, __u32 tstate)
{
	if (tstate & TASK_UNINTERRUPTIBLE)
		return SWOFFCPU_SLEEP_D;
	if (in_futex_wait(t, a))
		return SWOFFCPU_BLOCKED;
	return SWOFFCPU_SLEEP;
}

/*
 * The end of a futex wait: sum it per lock (every wait), and, when the wait's
 * stacks were walked, who woke it (its releaser), weighted like stack time.
 */
static __always_inline void end_futex_wait(struct task_struct *p, struct task_acct *a, __u64 now)
{
	struct swoffcpu_lock_key lk = {};
	struct swoffcpu_lock_val *lv, nlv = {};
	__u64 d = now > a->since ? now - a->since : 0;

	lk.tgid = p->tgid;
	lk.tid = p->pid;
	lk.uaddr = a->futex_uaddr;
	lk.op = a->futex_op;
	lv = bpf_map_lookup_elem(&lock_waits, &lk);
	if (!lv) {
		if (bpf_map_update_elem(&lock_waits, &lk, &nlv, BPF_NOEXIST) && bpf_map_lookup_elem(&lock_waits, &lk) == NULL) {
			count(SWOFFCPU_CTR_LOCKS_FULL, 1);
			count(SWOFFCPU_CTR_LOCKS_FULL_NS, d);
			goto wakers;
		}
		lv = bpf_map_lookup_elem(&lock_waits, &lk);
		if (!lv)
			goto wakers;
	}
	__sync_fetch_and_add(&lv->wait_ns, d);
	__sync_fetch_and_add(&lv->waits, 1);
	if (d > lv->max_wait_ns)
		lv->max_wait_ns = d;

wakers:
	if (a->weight && a->waker_seen) {
		struct swoffcpu_waker_key wk = {
			.tgid = lk.tgid,
			.waiter_tid = lk.tid,
			.uaddr = a->futex_uaddr,
			.waiter_user_stack = a->ustack,
			.waiter_kernel_stack = a->kstack,
			.waker_tid = a->waker_tid,
			.waker_tgid = a->waker_tgid,
			.waker_user_stack = a->waker_ustack,
			.waker_kernel_stack = a->waker_kstack,
		};
		struct swoffcpu_waker_val *wv, nwv = { .weighted_ns = d * a->weight, .wakeups = 1 };

		wv = bpf_map_lookup_elem(&lock_wakers, &wk);
		if (wv) {
			__sync_fetch_and_add(&wv->weighted_ns, d * a->weight);
			__sync_fetch_and_add(&wv->wakeups, 1);
		} else if (bpf_map_update_elem(&lock_wakers, &wk, &nwv, BPF_NOEXIST)) {
			count(SWOFFCPU_CTR_WAKERS_FULL, 1);
		}
	}
	a->waker_tid = 0;
	a->waker_seen = 0;
}

/*
 * A futex wait of `p` on (uaddr, op) that ended `d` ns earlier than summed (see
 * `wait_end_early`, accounting.bpf.h): its lock's wait time less `d`.
 */
static __always_inline void shorten_futex_wait(struct task_struct *p, __u64 uaddr, __u32 op, __u64 d)
{
	struct swoffcpu_lock_key lk = { .tgid = p->tgid, .tid = p->pid, .uaddr = uaddr, .op = op };
	struct swoffcpu_lock_val *lv = bpf_map_lookup_elem(&lock_waits, &lk);

	if (lv && lv->wait_ns >= d)
		__sync_fetch_and_add(&lv->wait_ns, -d);
}

/*
 * sched_waking of `p` (the on_waking program): it runs in the waker's own
 * context (sched_wakeup may run later, on the wakee's CPU), the place to note who
 * releases a blocked thread, and to walk the waker's stacks when the wait's own
 * stacks were walked.
 */
/*
 * Whether `t` is still in the futex wait its record says it is in: its saved
 * registers show a futex wait syscall on the same word. A record whose switches
 * were missed (see catch_up) can say blocked while the thread sleeps elsewhere:
 * a timer waking it from nanosleep, in an interrupt on an idle CPU, was then
 * taken for a releaser (tid 0) of the lock.
 */
static __always_inline bool still_in_futex_wait(struct task_struct *t, struct task_acct *a)
{
	__u64 uaddr;
	__u32 op;

	return futex_wait_regs(t, &uaddr, &op) && uaddr == a->futex_uaddr;
}

static __always_inline int handle_waking(void *ctx, struct task_struct *p)
{
	struct task_acct *a = traced(p);
	struct task_struct *cur;
	struct swoffcpu_stack *buf;
	bool added = false;
	__u32 zero = 0;

	if (!a)
		return 0;
	if (timeline)
		timeline_waking(a, p);
	if (a->state != SWOFFCPU_BLOCKED || !still_in_futex_wait(p, a))
		return 0;
	cur = bpf_get_current_task_btf();
	/* pid 0: the idle task, i.e. an interrupt on an idle CPU (a timed wait's timer): still a
	 * release, named from its kernel stack (`[timeout]` in the lock report). */
	a->waker_seen = 1;
	a->waker_tid = cur->pid;
	a->waker_tgid = cur->tgid;
	a->waker_ustack = SWOFFCPU_STACK_NONE;
	a->waker_kstack = SWOFFCPU_STACK_NONE;
	if (!a->weight)
		return 0;
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	if (walk_user && cur->mm)
		a->waker_ustack = walk_user_stack(ctx, buf);
	if (walk_kernel)
		a->waker_kstack = store_stack(&kernel_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), 0), &added, 0, false);
	return 0;
}

#endif /* SWOFFCPU_FUTEX_BPF_H */
