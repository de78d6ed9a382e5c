/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which tasks are traced, and the record each traced thread carries.
 *
 * A task is traced iff it has storage in `acct` (task storage: freed with the
 * task, so thread churn cannot fill a map), or, for a short while, a record waiting
 * for that storage in `acct_pending` (see there). Every hook starts with `traced()`,
 * which costs an untraced task one compare of its tgid (with few targets) or
 * one load (its task->bpf_storage is NULL, unless another BPF program gave it
 * storage: then a task-storage lookup).
 *
 * Included first by swoffcpu.bpf.c: every other *.bpf.h uses the record.
 */
#ifndef SWOFFCPU_TASK_BPF_H
#define SWOFFCPU_TASK_BPF_H

/* Task state bits (include/linux/sched.h); stable ABI for years. */
#define TASK_RUNNING         0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_DEAD            0x0080

/*
 * The traced processes, when there are at most SWOFFCPU_FAST_TGIDS (bpf/swoffcpu.h)
 * of them: a task of any other process is dropped on a compare of its tgid, before the
 * task-storage lookup (which costs tens of ns at every event of the machine).
 * 0 entries: no fast filter, the storage lookup decides alone. Set by the loader.
 */
const volatile __u32 n_fast_tgids = 0;
const volatile __u32 fast_tgids[SWOFFCPU_FAST_TGIDS] = {};

/* Written by user space through the mmap'ed .bss: 0 while tracing, then the window end. */
__u64 window_end_ns = 0;
/* Written by user space when the window opens, before seeding (0 until then): --cgroup and -a
 * leave a task born or moved in before it to the seeding, so that no record starts before the
 * window (the programs are attached a few ms earlier). */
__u64 window_start_ns = 0;

/*
 * Per-thread accounting, kernel side only. The stack fields belong to
 * stacks.bpf.h, the futex and waker fields to futex.bpf.h, the kernel clock
 * marks to accounting.bpf.h.
 */
struct task_acct {
	__u64 since;                   /* when the current state began */
	__u64 start_ns;                /* seeding or birth */
	__u64 ns[SWOFFCPU_NSTATES];
	__u64 switches;
	__u64 wakeups;
	__u32 state;
	__u32 flags;
	/* The current off-CPU period's stacks; weight 0 = not walked. */
	__u64 ustack;
	__u64 kstack;
	__u64 weight;
	__u64 last_walk_ns;            /* the last walk of a wait (sleep, blocked) */
	__u64 last_runnable_walk_ns;   /* the last walk of a preemption (runnable) */
	__u64 stack_lost_ns[SWOFFCPU_NSTATES];
	/* The futex of the current blocked interval, and who is waking it. */
	__u64 futex_uaddr;
	__u32 futex_op;
	__u32 waker_tid;
	__u32 waker_tgid;
	__u32 waker_seen;              /* a waker was seen (waker_tid 0: an interrupt on an idle CPU, a timer) */
	__u64 waker_ustack;
	__u64 waker_kstack;
	/* The kernel's clocks when tracing of the thread began. */
	__u64 kernel_on_cpu0;
	__u64 kernel_run_delay0;
	/* The kernel's clocks at the last switch seen (see `catch_up`): run_delay
	 * (with the wait in progress) and sum_exec_runtime. */
	__u64 mark_run_delay;
	__u64 mark_on_cpu;
	/* Time the hypervisor took (steal) and interrupts took (where the kernel
	 * accounts them apart) during the thread's on-CPU slices, and the run
	 * queue's counters of them when the current slice began. */
	__u64 stolen_ns;
	__u64 irq_ns;
	__u64 steal_mark;
	__u64 irq_mark;
	__u64 slice_since; /* when the current on-CPU slice began */
	/* The wait the current on-CPU slice followed (accounting.bpf.h, `wait_end_early`):
	 * its state (SWOFFCPU_NSTATES: none), length and futex. */
	__u64 woke_len;
	__u64 woke_uaddr;
	__u32 woke_op;
	__u32 woke_state;
	/* timeline.bpf.h: who woke the current wait (flags 0: nobody seen yet). */
	__u32 tl_waker_tid;
	__u32 tl_waker_tgid;
	__u32 tl_waker_flags;
	__u32 tl_pad;
	/* timeline.bpf.h: how much earlier the wait before the current on-CPU slice ended
	 * (`wait_end_early`): sent with that slice, so that user space moves the slices. */
	__u64 tl_early;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_acct);
} acct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWOFFCPU_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

/*
 * Records begun where task storage could not be created (targets.bpf.h, `defer_record`).
 * bpf_task_storage_get(..., F_CREATE) allocates from a per-CPU cache of the BPF memory
 * allocator, refilled by an irq_work: with interrupts off (tp_btf/cgroup_attach_task runs
 * under a spinlock, irqs off) a CPU's cache gives a few tens of records at most, and only
 * one on a CPU that has not allocated yet for this map. So a process moved into the
 * cgroup could lose threads: its second thread on a fresh CPU, its ~30th anywhere.
 * Such a record, begun as usual (at the move, its state read from the task), waits here,
 * keyed by the task's (tid, start time), until the task's next event, where `traced()`
 * moves it into task storage (`adopt`); until then the hooks update it here.
 * `pending_n` counts the entries: while it is 0, the one cost for an untraced task is
 * that load. Sized 1 with -p (nothing is deferred there; targets.c).
 */
struct pending_key {
	__u32 tid;
	__u32 pad;
	__u64 start_time;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH); /* preallocated: insertions work with irqs off */
	__uint(max_entries, SWOFFCPU_PENDING_MAX);
	__type(key, struct pending_key);
	__type(value, struct task_acct);
} acct_pending SEC(".maps");

__u64 pending_n = 0;

static __always_inline struct pending_key pending_key_of(struct task_struct *t)
{
	struct pending_key k = {};

	k.tid = t->pid;
	k.start_time = t->start_time;
	return k;
}

/*
 * The record of a task that has none in task storage but one in `acct_pending`: moved
 * into task storage if it can be created now (and the entry removed), else the entry
 * itself, updated in place until a later event can move it. NULL: no record.
 */
static __always_inline struct task_acct *adopt(struct task_struct *t)
{
	struct pending_key k = pending_key_of(t);
	struct task_acct *p = bpf_map_lookup_elem(&acct_pending, &k), *a;

	if (!p)
		return NULL;
	a = bpf_task_storage_get(&acct, t, p, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a)
		a = bpf_task_storage_get(&acct, t, 0, 0); /* created meanwhile on another CPU */
	if (!a)
		return p;
	if (!bpf_map_delete_elem(&acct_pending, &k))
		__sync_fetch_and_add(&pending_n, -1);
	return a;
}

/* A dead task's record sent from `acct_pending` (no storage to free): its entry goes. */
static __always_inline void forget_pending(struct task_struct *t)
{
	struct pending_key k = pending_key_of(t);

	if (!bpf_map_delete_elem(&acct_pending, &k))
		__sync_fetch_and_add(&pending_n, -1);
}

/* The task's accounting, or NULL if it is not traced: the first thing every hook does. */
static __always_inline struct task_acct *traced(struct task_struct *t)
{
	struct task_acct *a;

	if (n_fast_tgids) {
		__u32 tgid = t->tgid;
		bool hit = false;

		for (int i = 0; i < SWOFFCPU_FAST_TGIDS; i++) {
			if (i >= n_fast_tgids)
				break;
			if (fast_tgids[i] == tgid)
				hit = true;
		}
		if (!hit)
			return NULL;
	}
	/* Without that filter (--follow, many targets): a task no BPF program gave storage,
	 * most of the machine's, is dropped on a load, before the helper call. */
	if (bpf_core_field_exists(t->bpf_storage) && !t->bpf_storage)
		return pending_n ? adopt(t) : NULL;
	a = bpf_task_storage_get(&acct, t, 0, 0);
	if (!a && pending_n)
		a = adopt(t);
	return a;
}

/*
 * The task's storage if it exists or can be created here; no failure counted. The seed
 * iterator and the fork hook can race to create it for a brand-new thread: the loser's
 * create fails with EEXIST, so look again.
 */
static __always_inline struct task_acct *try_create(struct task_struct *t)
{
	struct task_acct *a = bpf_task_storage_get(&acct, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!a)
		a = bpf_task_storage_get(&acct, t, 0, 0);
	return a;
}

/* The task's storage (or its record still waiting in `acct_pending`), created if need be;
 * a failure counted as an untraced thread. */
static __always_inline struct task_acct *get_or_create(struct task_struct *t)
{
	struct task_acct *a;

	if (pending_n) {
		/* A record begun without storage is the task's record (seeding could meet
		 * a task just moved in): without this, the entry would stay forever. */
		a = adopt(t);
		if (a)
			return a;
	}
	a = try_create(t);
	if (!a)
		count(SWOFFCPU_CTR_STORAGE_FAIL, 1);
	return a;
}

/* Kernels before 5.14 named task_struct.__state `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}


/*
 * The time of an event, or 0 when it falls after the window end: from then on
 * the records are frozen, and the dump closes them at window_end_ns.
 */
static __always_inline __u64 event_time(void)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 end = window_end_ns;

	if (end && now > end)
		return 0;
	return now;
}

#endif /* SWOFFCPU_TASK_BPF_H */
