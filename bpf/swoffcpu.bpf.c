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
 * A task is traced iff it has task storage. Untraced tasks cost one
 * task-storage lookup (task->bpf_storage is NULL for them) per hook.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "swoffcpu.h"

/* Task state bits (include/linux/sched.h); stable ABI for years. */
#define EEXIST 17
#define ENOMEM 12
#define E2BIG  7

#define TASK_RUNNING         0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_DEAD            0x0080

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

/* Set by the loader before load. */
const volatile __u32 follow_threads = 1; /* threads created by a traced thread are traced */
/*
 * The traced processes, when there are at most SWOFFCPU_FAST_TGIDS of them: a
 * task of any other process is dropped on a compare of its tgid, before the
 * task-storage lookup (which costs tens of ns at every event of the machine).
 * 0 entries: no fast filter, the storage lookup decides alone.
 */
#define SWOFFCPU_FAST_TGIDS 8
const volatile __u32 n_fast_tgids = 0;
const volatile __u32 fast_tgids[SWOFFCPU_FAST_TGIDS] = {};
const volatile __u32 walk_user = 1;      /* walk user stacks at switch-out */
const volatile __u32 walk_kernel = 1;    /* walk kernel stacks at switch-out */
/*
 * Stack-walk sampling. Walking both stacks costs microseconds, more than all the
 * accounting: a thread's first switch-out after walk_period_ns without a walk is
 * always walked (so threads that switch rarely get every stack); sooner than
 * that, 1 in walk_one_in switch-outs is, at random, and counts walk_one_in
 * times. The decision is made before the interval's length is known, so every
 * stack's time is an unbiased estimate. walk_one_in = 1 walks every switch-out.
 */
const volatile __u64 walk_period_ns = 10000000;
const volatile __u32 walk_one_in = 64;
/*
 * Where a wakeup is timed. 1 (kernels with CONFIG_SCHED_INFO, i.e. schedstat): at
 * switch-in, from the kernel's own run-queue wait since the switch-out (see
 * `woken_at`), and no sched_wakeup program is loaded: that spares a program run at
 * every wakeup of the machine, traced or not. 0: the sched_wakeup hook times it.
 */
const volatile __u32 queue_clock = 1;

/* Written by user space through the mmap'ed .bss: 0 while tracing, then the window end. */
__u64 window_end_ns = 0;

/* Written by user space before attaching: see swoffcpu_text_range. */
struct swoffcpu_text_range text_ranges[SWOFFCPU_MAX_TEXT_RANGES] = {};
__u32 n_text_ranges = 0;

/* Per-thread accounting, kernel side only. */
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
	__u64 last_walk_ns;
	__u64 stack_lost_ns[SWOFFCPU_NSTATES];
	/* The futex of the current blocked interval, and who is waking it. */
	__u64 futex_uaddr;
	__u32 futex_op;
	__u32 waker_tid;
	__u32 waker_tgid;
	__u32 pad;
	__u64 waker_ustack;
	__u64 waker_kstack;
	/* The kernel's clocks when tracing of the thread began. */
	__u64 kernel_on_cpu0;
	__u64 kernel_run_delay0;
	/* The kernel's clocks at the last switch seen (see `catch_up`): run_delay
	 * (with the wait in progress) and sum_exec_runtime. */
	__u64 mark_run_delay;
	__u64 mark_on_cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_acct);
} acct SEC(".maps");

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

const volatile __u32 filter_tids = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWOFFCPU_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Records of threads that exit while traced. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} exits SEC(".maps");

/*
 * Each distinct stack once, keyed by a hash of its frames. Sized by the loader.
 * Not preallocated (an entry costs memory only once used); user and kernel stacks
 * go to two maps because such a map's per-CPU allocation cache holds a single
 * element this large, refilled asynchronously: two insertions back to back in
 * one map would find it empty (-ENOMEM).
 */
struct stack_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, struct swoffcpu_stack);
};
struct stack_map user_stacks SEC(".maps");
struct stack_map kernel_stacks SEC(".maps");

/* The leaf context of each user stack, keyed like `user_stacks`. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, struct swoffcpu_user_leaf);
} user_leaves SEC(".maps");

/*
 * Off-CPU time per (thread, state, user stack, kernel stack). Sized by the loader.
 * Preallocated (about 100 bytes an entry): a non-preallocated map fails insertions
 * in bursts (thousands of threads waking at once) long before it is full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct swoffcpu_stack_key);
	__type(value, struct swoffcpu_stack_val);
} stack_time SEC(".maps");

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

/* Per-CPU room to walk a stack into (too big for the 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swoffcpu_stack);
} scratch SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

/* The task's accounting, or NULL if it is not traced: the first thing every hook does. */
static __always_inline struct task_acct *traced(struct task_struct *t)
{
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
	return bpf_task_storage_get(&acct, t, 0, 0);
}

/*
 * The task's storage, created if need be. The seed iterator and the fork hook
 * can race to create it for a brand-new thread: the loser's create fails with
 * EEXIST, so look again before counting a failure.
 */
static __always_inline struct task_acct *get_or_create(struct task_struct *t)
{
	struct task_acct *a = bpf_task_storage_get(&acct, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!a)
		a = bpf_task_storage_get(&acct, t, 0, 0);
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
 * Is the task sleeping inside a futex wait? The answer is in its saved user
 * registers: the syscall number (orig_ax) and the futex op (second argument).
 * Reading them here costs a few loads, where syscall hooks would run on every
 * syscall of the machine. On a wait, the futex address and op go to `a`.
 */
static __always_inline bool in_futex_wait(struct task_struct *t, struct task_acct *a)
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
	a->futex_uaddr = regs->di;
	a->futex_op = cmd;
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

/* Adds a walked off-CPU interval to its stacks' time. */
static __always_inline void add_stack_time(struct task_acct *a, struct task_struct *t, __u32 s,
					   __u64 weighted_ns)
{
	struct swoffcpu_stack_key key = {
		.tid = t->pid,
		.state = s,
		.user_stack = a->ustack,
		.kernel_stack = a->kstack,
	};
	struct swoffcpu_stack_val *v, nv = { .weighted_ns = weighted_ns, .intervals = 1 };

	v = bpf_map_lookup_elem(&stack_time, &key);
	if (v) {
		__sync_fetch_and_add(&v->weighted_ns, weighted_ns);
		__sync_fetch_and_add(&v->intervals, 1);
		return;
	}
	if (bpf_map_update_elem(&stack_time, &key, &nv, BPF_NOEXIST) == 0)
		return;
	v = bpf_map_lookup_elem(&stack_time, &key); /* lost a race to another CPU */
	if (v) {
		__sync_fetch_and_add(&v->weighted_ns, weighted_ns);
		__sync_fetch_and_add(&v->intervals, 1);
		return;
	}
	/* Full: the time stays in the thread's totals and shows as lost, not spread. */
	if (s < SWOFFCPU_NSTATES)
		a->stack_lost_ns[s] += weighted_ns;
	count(SWOFFCPU_CTR_STACK_TIME_FULL, 1);
}

/* Close the current interval at `now` and enter `state`. */
static __always_inline void enter(struct task_acct *a, struct task_struct *t, __u32 state,
				  __u64 now)
{
	__u32 s = a->state;

	/* Timestamps from two CPUs can be a hair out of order: never let `since`
	 * move back, or the next interval would be counted twice. */
	if (now > a->since) {
		__u64 d = now - a->since;

		if (s < SWOFFCPU_NSTATES) {
			a->ns[s] += d;
			if (s != SWOFFCPU_ON_CPU && a->weight)
				add_stack_time(a, t, s, d * a->weight);
		}
		a->since = now;
	}
	a->state = state;
}

static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* Stores a walked stack (`len` bytes of frames, or a negative error) and returns its hash. */
static __always_inline __u64 store_stack(void *stacks, struct swoffcpu_stack *buf, long len, bool *added,
					 __u64 seed, bool user)
{
	__u64 h = 0xcbf29ce484222325ULL ^ seed;
	long n = len / 8;
	long err;

	if (len <= 0)
		return len == 0 ? SWOFFCPU_STACK_NONE : SWOFFCPU_STACK_ERR_WALK;
	for (int i = 0; i < SWOFFCPU_MAX_FRAMES; i++) {
		__u64 ip;

		if (i >= n)
			break;
		ip = buf->ip[i];
		/* Code built without frame pointers leaves other values where a walk
		 * expects the next frame: end the stack at the first address that can
		 * be no instruction (user: below 4 KiB or non-canonical), or every
		 * sleep would make a new bogus stack. */
		if (user && (ip < 4096 || ip >= 0x800000000000ULL)) {
			buf->ip[i] = 0;
			break;
		}
		h = mix(h, ip);
	}
	if (h < 16)
		h += 16; /* 0..15 are markers */
	err = bpf_map_update_elem(stacks, &h, buf, BPF_NOEXIST);
	*added = err == 0;
	if (err == 0 || err == -EEXIST)
		return h;
	if (bpf_map_lookup_elem(stacks, &h))
		return h; /* stored meanwhile */
	if (err == -E2BIG) {
		count(SWOFFCPU_CTR_STACK_FULL, 1);
		return SWOFFCPU_STACK_ERR_FULL;
	}
	/* -ENOMEM: the allocation cache was empty; -EBUSY: the bucket is locked by
	 * an update this CPU interrupted. */
	count(SWOFFCPU_CTR_STACK_BUSY, 1);
	return SWOFFCPU_STACK_ERR_NOMEM;
}

/*
 * Keeps a new user stack's leaf context: the saved user registers and the top
 * of the user stack (the scratch buffer is reused: the frames are stored).
 */
/* Per-CPU room for a leaf context (the stack scratch holds the frames meanwhile). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swoffcpu_user_leaf);
} leaf_scratch SEC(".maps");

static __always_inline bool in_text(__u64 w, __u32 n)
{
	__u32 lo = 0, hi = n;

	for (int k = 0; k < 7; k++) { /* 2^7 > SWOFFCPU_MAX_TEXT_RANGES */
		__u32 mid;

		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		if (mid >= SWOFFCPU_MAX_TEXT_RANGES)
			break;
		if (w < text_ranges[mid].start)
			hi = mid;
		else if (w >= text_ranges[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

struct scan_ctx {
	struct swoffcpu_user_leaf *leaf;
	__u32 n;
	__u64 h;
};

static long scan_word(__u32 i, void *data)
{
	struct scan_ctx *c = data;
	__u64 w;

	if (i >= SWOFFCPU_LEAF_BYTES / 8)
		return 1;
	w = *(__u64 *)&c->leaf->stack[i * 8];
	if (in_text(w, c->n))
		c->h = mix(c->h ^ i, w);
	return 0;
}

/*
 * Mixes the code pointers of the leaf region [sp, bp) into a seed for the stack
 * id. bpf_loop keeps the verifier from unrolling the scan.
 */
static __always_inline __u64 leaf_discriminator(struct swoffcpu_user_leaf *leaf)
{
	struct scan_ctx c = { .leaf = leaf, .n = n_text_ranges, .h = 0 };
	__u64 len = leaf->len;

	if (!c.n || c.n > SWOFFCPU_MAX_TEXT_RANGES)
		return 0;
	/* Up to bp when it is a frame pointer within reach; else the whole window
	 * (live stack all the same: it lies above sp). */
	if (leaf->bp > leaf->sp && leaf->bp - leaf->sp < len)
		len = leaf->bp - leaf->sp;
	bpf_loop(len / 8, scan_word, &c, 0);
	return c.h;
}

/* The current task's leaf context: saved user registers and the top of its user stack. */
static __always_inline struct swoffcpu_user_leaf *read_leaf(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	struct swoffcpu_user_leaf *leaf;
	__u32 zero = 0;

	leaf = bpf_map_lookup_elem(&leaf_scratch, &zero);
	if (!leaf || !regs)
		return NULL;
	leaf->ip = regs->ip;
	leaf->sp = regs->sp;
	leaf->bp = regs->bp;
	leaf->len = SWOFFCPU_LEAF_BYTES;
	if (bpf_probe_read_user(leaf->stack, SWOFFCPU_LEAF_BYTES, (void *)leaf->sp)) {
		/* Near the top of the stack mapping: take less. */
		leaf->len = 128;
		if (bpf_probe_read_user(leaf->stack, 128, (void *)leaf->sp))
			leaf->len = 0;
	}
	return leaf;
}

/*
 * Walks the current task's user stack (frame pointers) and stores it, its id
 * mixed with the leaf region's code pointers; a new stack keeps its leaf context,
 * from which user space recovers the frames the walk skipped.
 */
static __always_inline __u64 walk_user_stack(void *ctx, struct swoffcpu_stack *buf)
{
	struct swoffcpu_user_leaf *leaf = read_leaf();
	bool added = false;
	__u64 id;

	id = store_stack(&user_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), BPF_F_USER_STACK), &added,
			 leaf ? leaf_discriminator(leaf) : 0, true);
	if (added && leaf && id >= 16)
		bpf_map_update_elem(&user_leaves, &id, leaf, BPF_NOEXIST);
	return id;
}

/*
 * At switch-out (in the task's own context, where its user stack is readable):
 * decide whether to walk this off-CPU period's stacks, and walk them.
 */
static __always_inline void walk_stacks(void *ctx, struct task_acct *a, __u64 now)
{
	struct swoffcpu_stack *buf;
	bool added = false;
	__u32 zero = 0;
	__u64 k = 1;

	a->weight = 0;
	a->ustack = SWOFFCPU_STACK_NONE;
	a->kstack = SWOFFCPU_STACK_NONE;
	if (!walk_user && !walk_kernel)
		return;
	if (walk_one_in > 1 && now - a->last_walk_ns < walk_period_ns) {
		k = walk_one_in;
		if (bpf_get_prandom_u32() % k)
			return;
	}
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return;
	a->weight = k;
	a->last_walk_ns = now;
	if (walk_user)
		a->ustack = walk_user_stack(ctx, buf);
	if (walk_kernel)
		a->kstack = store_stack(&kernel_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), 0), &added, 0, false);
	count(SWOFFCPU_CTR_STACK_WALKS, 1);
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
static __always_inline struct rq *task_rq_of(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return NULL;
	return t->se.cfs_rq->rq;
}

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
	if (queued && (rq = task_rq_of(t))) {
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
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), t->comm);
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
	if (a->weight && a->waker_tid) {
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
}

static __always_inline bool is_wait(__u32 state)
{
	return state == SWOFFCPU_SLEEP || state == SWOFFCPU_SLEEP_D || state == SWOFFCPU_BLOCKED;
}

/* A wait (sleep, sleep D, blocked) ends at `when`: the thread is runnable from then on. */
static __always_inline void wake_up(struct task_acct *a, struct task_struct *p, __u64 when)
{
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

/*
 * sched_waking runs in the waker's own context (sched_wakeup may run later, on
 * the wakee's CPU): the place to note who releases a blocked thread, and to walk
 * the waker's stacks when the wait's own stacks were walked.
 */
SEC("tp_btf/sched_waking")
int BPF_PROG(on_waking, struct task_struct *p)
{
	struct task_acct *a = traced(p);
	struct task_struct *cur;
	struct swoffcpu_stack *buf;
	bool added = false;
	__u32 zero = 0;

	if (!a || a->state != SWOFFCPU_BLOCKED)
		return 0;
	cur = bpf_get_current_task_btf();
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


/* A thread created by a traced thread is traced from birth, runnable until it first runs. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_acct *a;
	__u64 now;

	if (!follow_threads)
		return 0;
	if (!traced(parent))
		return 0;
	if (child->tgid != parent->tgid)
		return 0; /* a new process, not a thread */
	now = event_time();
	if (!now)
		return 0;
	a = get_or_create(child);
	if (!a)
		return 0;
	if (a->since)
		return 0; /* the seed iterator got there first */
	a->since = now;
	a->start_ns = now;
	a->state = SWOFFCPU_RUNNABLE;
	a->flags = SWOFFCPU_F_BORN;
	/* A new task's clocks start at zero; whatever they hold is its parent's copy. */
	a->kernel_on_cpu0 = kernel_on_cpu(child, false);
	a->kernel_run_delay0 = kernel_run_delay(child);
	a->mark_run_delay = a->kernel_run_delay0;
	a->mark_on_cpu = a->kernel_on_cpu0;
	count(SWOFFCPU_CTR_EVENTS, 1);
	return 0;
}

/*
 * The stacks of a thread found off-CPU at seeding: its kernel stack can be read
 * from here; its user stack only from its own context (or a sleepable program),
 * so that part is left unknown.
 */
static __always_inline void seed_stacks(struct task_struct *t, struct task_acct *a, __u64 now)
{
	struct swoffcpu_stack *buf;
	bool added;
	__u32 zero = 0;

	a->weight = 0;
	a->last_walk_ns = now;
	if (a->state == SWOFFCPU_ON_CPU || (!walk_user && !walk_kernel))
		return;
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return;
	a->weight = 1;
	a->ustack = walk_user ? SWOFFCPU_STACK_BEFORE : SWOFFCPU_STACK_NONE;
	if (walk_kernel)
		a->kstack = store_stack(&kernel_stacks, buf, bpf_get_task_stack(t, buf, sizeof(*buf), 0), &added, 0, false);
}

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
	__u32 tgid, tid, tstate;
	__u64 now;

	if (!t)
		return 0;
	tgid = t->tgid;
	tid = t->pid;
	if (!bpf_map_lookup_elem(&target_tgids, &tgid))
		return 0;
	if (filter_tids && !bpf_map_lookup_elem(&target_tids, &tid))
		return 0;
	if (t->flags & 0x4 /* PF_EXITING */)
		return 0;
	a = get_or_create(t);
	if (!a)
		return 0;
	if (a->since)
		return 0; /* already traced: seeded before, or born since attach */
	now = bpf_ktime_get_ns();
	tstate = task_state(t);
	if (t->on_cpu)
		a->state = SWOFFCPU_ON_CPU;
	else if (tstate == TASK_RUNNING)
		a->state = SWOFFCPU_RUNNABLE;
	else
		a->state = sleep_state(t, a, tstate);
	a->since = now;
	a->start_ns = now;
	a->flags = SWOFFCPU_F_SEEDED;
	a->kernel_on_cpu0 = kernel_on_cpu(t, a->state == SWOFFCPU_ON_CPU);
	a->kernel_run_delay0 = kernel_run_delay(t);
	a->mark_run_delay = a->kernel_run_delay0;
	a->mark_on_cpu = a->kernel_on_cpu0;
	seed_stacks(t, a, now);
	fill_rec(&r, t, a, now, false);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* Dump: one record per traced live thread, its open interval closed at the window end. */
/*
 * The user stacks of threads found off-CPU at seeding. A BPF stack walk reads a
 * user stack only from the task's own context, but a sleepable iterator may
 * read another task's memory (bpf_copy_from_user_task): walk the frame-pointer
 * chain from the task's saved registers, as bpf_get_stack would, and keep the
 * leaf context for the .eh_frame recovery. A thread that moved on since seeding
 * keeps the marker (its seeded interval is already closed).
 */
struct fp_frame {
	__u64 next;
	__u64 ret;
};

struct fp_walk {
	struct task_struct *t;
	struct swoffcpu_stack *buf;
	__u64 bp;
};

struct hash_walk {
	struct swoffcpu_stack *buf;
	__u64 h;
	int n;
};

/* store_stack's hash, one frame a step (for the sleepable seed walk, under bpf_loop). */
static long hash_step(__u32 i, void *data)
{
	struct hash_walk *c = data;

	if (i >= SWOFFCPU_MAX_FRAMES || (int)i >= c->n)
		return 1;
	c->h = mix(c->h, c->buf->ip[i]);
	return 0;
}

/* The walk's frame count lives in the scratch buffer's last slot, map memory the
 * verifier does not track: a counter on the stack would make it simulate every
 * step of the loop (bpf_loop callbacks are verified until their state converges),
 * more than its instruction budget. The walk keeps one slot fewer. */
#define FP_COUNT_SLOT (SWOFFCPU_MAX_FRAMES - 1)

/* One step of the frame-pointer chain of another task, under bpf_loop. */
static long fp_step(__u32 i, void *data)
{
	struct fp_walk *w = data;
	struct fp_frame f;
	__u64 slot = w->buf->ip[FP_COUNT_SLOT];

	if (slot < 1 || slot >= FP_COUNT_SLOT)
		return 1;
	if (!w->bp || (w->bp & 7) || bpf_copy_from_user_task(&f, sizeof(f), (void *)w->bp, w->t, 0))
		return 1;
	if (f.ret < 4096 || f.ret >= 0x800000000000ULL) /* no instruction there: not a frame */
		return 1;
	w->buf->ip[slot] = f.ret;
	w->buf->ip[FP_COUNT_SLOT] = slot + 1;
	if (f.next <= w->bp) /* the chain must go up the stack */
		return 1;
	w->bp = f.next;
	return 0;
}

SEC("iter.s/task")
int seed_user_stacks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct swoffcpu_user_leaf *leaf;
	struct swoffcpu_stack *buf;
	struct task_acct *a;
	struct pt_regs *regs;
	struct fp_walk walk = {};
	struct hash_walk hw = {};
	bool added = false;
	__u32 zero = 0;
	__u64 id;
	int n;

	if (!t || !walk_user)
		return 0;
	a = bpf_task_storage_get(&acct, t, 0, 0);
	if (!a || a->ustack != SWOFFCPU_STACK_BEFORE || a->since != a->start_ns)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	buf = bpf_map_lookup_elem(&scratch, &zero);
	leaf = bpf_map_lookup_elem(&leaf_scratch, &zero);
	if (!regs || !buf || !leaf)
		return 0;
	leaf->ip = regs->ip;
	leaf->sp = regs->sp;
	leaf->bp = regs->bp;
	leaf->len = SWOFFCPU_LEAF_BYTES;
	if (bpf_copy_from_user_task(leaf->stack, SWOFFCPU_LEAF_BYTES, (void *)leaf->sp, t, 0)) {
		leaf->len = 128;
		if (bpf_copy_from_user_task(leaf->stack, 128, (void *)leaf->sp, t, 0))
			leaf->len = 0;
	}
	__builtin_memset(buf, 0, sizeof(*buf));
	buf->ip[0] = leaf->ip;
	walk.t = t;
	walk.buf = buf;
	walk.bp = leaf->bp;
	buf->ip[FP_COUNT_SLOT] = 1;
	bpf_loop(FP_COUNT_SLOT, fp_step, &walk, 0);
	n = buf->ip[FP_COUNT_SLOT];
	buf->ip[FP_COUNT_SLOT] = 0;
	if (n < 1 || n >= FP_COUNT_SLOT)
		return 0;
	/* The id as store_stack makes it, seeded with the leaf's stack pointer rather than
	 * its code pointers (that scan is more than the verifier takes here): threads
	 * waiting at different places get ids of their own. */
	hw.buf = buf;
	hw.h = 0xcbf29ce484222325ULL ^ leaf->sp;
	hw.n = n;
	bpf_loop(SWOFFCPU_MAX_FRAMES, hash_step, &hw, 0);
	id = hw.h < 16 ? hw.h + 16 : hw.h;
	added = bpf_map_update_elem(&user_stacks, &id, buf, BPF_NOEXIST) == 0;
	if (!added && !bpf_map_lookup_elem(&user_stacks, &id))
		return 0; /* not stored: keep the marker */
	if (added && id >= 16)
		bpf_map_update_elem(&user_leaves, &id, leaf, BPF_NOEXIST);
	/* Still in its seeded interval: take the stack (else its interval is closed already). */
	if (a->since == a->start_ns && id >= 16)
		a->ustack = id;
	return 0;
}

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
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
