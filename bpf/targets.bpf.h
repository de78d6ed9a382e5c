/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which tasks get a record, beyond the processes of -p/-t: every task of a
 * cgroup v2 and its descendants (--cgroup), or every task of the machine (-a).
 *
 * Membership is still "has storage in `acct`": the hot path (`traced()`, every
 * sched_switch) is unchanged, one task-storage lookup, and the cgroup is tested
 * only where membership can change:
 *   - when tracing starts (the seed iterator, `target_wanted`);
 *   - at fork (`fork_target`): a child created in the cgroup, also by a parent
 *     outside it (clone3 with CLONE_INTO_CGROUP), is traced from its birth;
 *   - when tasks are moved between cgroups (`tp_btf/cgroup_attach_task`, loaded
 *     with --cgroup only): a task moved in is seeded at the move, its state read
 *     from the task itself; a task moved out has its record closed at the move
 *     and sent like an exit record (flag SWOFFCPU_F_LEFT), and its storage freed:
 *     it is not counted while outside. Moved back, it starts a new record.
 * A move of a whole process (cgroup.procs) fires the tracepoint once, for its
 * leader: its threads are walked with the open-coded task iterator. There, with
 * interrupts off, task storage can be created only a few tens of times per CPU
 * (once on a CPU that has not allocated yet): a record that cannot get storage is
 * begun all the same and kept in `acct_pending` (task.bpf.h) until the task's next
 * event moves it into storage. Also at fork, where that is rarer.
 *
 * The cgroup test: the task's cgroup in the default hierarchy, its ancestor at the
 * target's level, compared by kernfs id (the id is the cgroup directory's inode
 * number): a few dependent loads, CO-RE.
 *
 * Included after accounting.bpf.h (it seeds and closes records) and before
 * iterators.bpf.h (the seed iterator asks `target_wanted`).
 */
#ifndef SWOFFCPU_TARGETS_BPF_H
#define SWOFFCPU_TARGETS_BPF_H

/* Set by the loader (LoadPlan.targets). */
const volatile __u32 target_mode = SWOFFCPU_TARGET_PIDS;
const volatile __u64 target_cgroup_id = 0;
const volatile __u32 target_cgroup_level = 0;

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;

/* Whether the task is in the target cgroup or one of its descendants (cgroup v2). */
static __always_inline bool in_target_cgroup(struct task_struct *t)
{
	struct cgroup *cgrp = BPF_CORE_READ(t, cgroups, dfl_cgrp);
	struct cgroup *anc = NULL;
	__u32 level = target_cgroup_level;

	if (!cgrp || BPF_CORE_READ(cgrp, level) < (int)level)
		return false;
	if (level >= 4096)
		return false;
	bpf_core_read(&anc, sizeof(anc), &cgrp->ancestors[level]);
	return anc && BPF_CORE_READ(anc, kn, id) == target_cgroup_id;
}

/* Seeding, --cgroup and -a: whether the task is a target (-p's are in `target_tgids`). */
static __always_inline bool target_wanted(struct task_struct *t)
{
	if (target_mode == SWOFFCPU_TARGET_ALL)
		return true;
	if (target_mode == SWOFFCPU_TARGET_CGROUP)
		return in_target_cgroup(t);
	return false;
}

/*
 * The record of a task found existing (seeding, or moved into the cgroup) at `now`:
 * its state read from the task itself. Returns false if it already had one.
 */
static __always_inline bool begin_trace(struct task_struct *t, struct task_acct *a, __u64 now, __u32 flags)
{
	__u32 tstate;

	if (a->since)
		return false; /* already traced: seeded before, or born since attach */
	tstate = task_state(t);
	if (t->on_cpu)
		a->state = SWOFFCPU_ON_CPU;
	else if (tstate == TASK_RUNNING)
		a->state = SWOFFCPU_RUNNABLE;
	else
		a->state = sleep_state(t, a, tstate);
	a->since = now;
	a->start_ns = now;
	a->flags = flags;
	a->kernel_on_cpu0 = kernel_on_cpu(t, a->state == SWOFFCPU_ON_CPU);
	a->kernel_run_delay0 = kernel_run_delay(t);
	a->mark_run_delay = a->kernel_run_delay0;
	a->mark_on_cpu = a->kernel_on_cpu0;
	if (a->state == SWOFFCPU_ON_CPU)
		on_cpu_slice_start(a, t, now);
	seed_stacks(t, a, now);
	return true;
}

/* One record's room per CPU, to begin a record that has no task storage yet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_acct);
} pending_scratch SEC(".maps");

/* A zeroed record to begin in `pending_scratch`, for `defer_record`. */
static __always_inline struct task_acct *scratch_record(void)
{
	__u32 zero = 0;
	struct task_acct *s = bpf_map_lookup_elem(&pending_scratch, &zero);

	if (s)
		__builtin_memset(s, 0, sizeof(*s));
	return s;
}

/*
 * The record `s` (begun in `pending_scratch`) of a task whose task storage could not be
 * created here: kept in `acct_pending` until its next event (task.bpf.h, `adopt`). False,
 * and counted as an untraced thread, if that map is full.
 */
static __always_inline bool defer_record(struct task_struct *t, struct task_acct *s)
{
	struct pending_key k = pending_key_of(t);

	if (bpf_map_update_elem(&acct_pending, &k, s, BPF_NOEXIST))
		return false;
	__sync_fetch_and_add(&pending_n, 1);
	count(SWOFFCPU_CTR_DEFERRED, 1);
	return true;
}

/* A new task's record (on_fork, fork_target): runnable until it first runs, its clocks from its
 * birth (a new task's clocks start at zero; whatever they hold is its parent's copy). */
static __always_inline void begin_born(struct task_struct *child, struct task_acct *a, __u64 now)
{
	a->since = now;
	a->start_ns = now;
	a->state = SWOFFCPU_RUNNABLE;
	a->flags = SWOFFCPU_F_BORN;
	a->kernel_on_cpu0 = kernel_on_cpu(child, false);
	a->kernel_run_delay0 = kernel_run_delay(child);
	a->mark_run_delay = a->kernel_run_delay0;
	a->mark_on_cpu = a->kernel_on_cpu0;
}

/*
 * --cgroup and -a: a new task (thread or process) is traced from its birth iff it
 * is a target (on_fork's own rule, same thread group as a traced parent, is -p's).
 */
static __always_inline int fork_target(struct task_struct *child)
{
	struct task_acct *a;
	__u64 now;

	if (target_mode == SWOFFCPU_TARGET_CGROUP && !in_target_cgroup(child))
		return 0;
	now = event_time();
	if (!now || !window_start_ns || now < window_start_ns)
		return 0; /* not open yet: the seeding finds it */
	a = try_create(child);
	if (!a) {
		/* No storage now (the allocator's cache empty on this CPU): begun aside. */
		a = scratch_record();
		if (a) {
			begin_born(child, a, now);
			if (defer_record(child, a)) {
				count(SWOFFCPU_CTR_EVENTS, 1);
				return 0;
			}
		}
		count(SWOFFCPU_CTR_STORAGE_FAIL, 1);
		return 0;
	}
	if (a->since)
		return 0;
	begin_born(child, a, now);
	count(SWOFFCPU_CTR_EVENTS, 1);
	return 0;
}

/*
 * A task has just been moved between cgroups: it joins or leaves the traced set.
 * A global function, verified once on its own: inlined into the iterator's loop, the
 * verifier explored each branch of it on every round of the loop (1M instructions).
 */
__noinline int cgroup_moved(struct task_struct *t __attribute__((btf_decl_tag("arg:trusted"))), __u64 now)
{
	struct swoffcpu_thread_rec *r;
	struct task_acct *a;
	struct pending_key k = {};
	bool in, deferred = false;

	if (!t || (t->flags & 0x4 /* PF_EXITING */))
		return 0;
	a = bpf_task_storage_get(&acct, t, 0, 0);
	if (!a && pending_n) {
		/* Moved in before, its record still waiting for storage (`acct_pending`). */
		k = pending_key_of(t);
		a = bpf_map_lookup_elem(&acct_pending, &k);
		deferred = a != NULL;
	}
	in = in_target_cgroup(t);
	if (in && !a) {
		/* Here interrupts are off: storage comes from the allocator's per-CPU cache
		 * alone, which a whole process's threads can exhaust (task.bpf.h,
		 * `acct_pending`). A record that cannot get storage is begun aside. */
		a = try_create(t);
		if (a) {
			begin_trace(t, a, now, SWOFFCPU_F_JOINED);
			return 0;
		}
		a = scratch_record();
		if (a) {
			begin_trace(t, a, now, SWOFFCPU_F_JOINED);
			if (defer_record(t, a))
				return 0;
		}
		count(SWOFFCPU_CTR_STORAGE_FAIL, 1);
		return 0;
	}
	if (in || !a || !a->since)
		return 0;
	/* Left: closed at the move and sent as an exit record would be (not exited). */
	close_at(t, a, now);
	a->flags |= SWOFFCPU_F_LEFT;
	r = bpf_ringbuf_reserve(&exits, sizeof(*r), 0);
	if (r) {
		fill_rec(r, t, a, now, false);
		bpf_ringbuf_submit(r, 0);
	} else {
		count(SWOFFCPU_CTR_RINGBUF_DROP, 1);
		count(SWOFFCPU_CTR_RINGBUF_DROP_NS, now > a->start_ns ? now - a->start_ns : 0);
	}
	if (deferred && !bpf_map_delete_elem(&acct_pending, &k))
		__sync_fetch_and_add(&pending_n, -1);
	/* Also when deferred: an event on another CPU may have just adopted the record. */
	bpf_task_storage_delete(&acct, t);
	return 0;
}

/* Loaded with --cgroup only: a task (or, `threadgroup`, a whole process) was moved to `dst`. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *leader,
	     bool threadgroup)
{
	struct bpf_iter_task it;
	struct task_struct *t;
	__u64 now = event_time();

	if (!now || !leader || !window_start_ns || now < window_start_ns)
		return 0; /* not open yet: the seeding finds the tasks inside */
	if (!threadgroup) {
		cgroup_moved(leader, now);
		return 0;
	}
	bpf_iter_task_new(&it, leader, BPF_TASK_ITER_PROC_THREADS);
	/* The verifier bounds an open-coded iterator's loop. Its tasks are RCU pointers: a
	 * reference makes one a trusted argument of the global function. */
	while ((t = bpf_iter_task_next(&it))) {
		struct task_struct *held = bpf_task_acquire(t);

		if (held) {
			cgroup_moved(held, now);
			bpf_task_release(held);
		}
	}
	bpf_iter_task_destroy(&it);
	return 0;
}

/*
 * A live look (the dump iterator while tracing, --interval): a thread woken and
 * still queued is runnable from its wakeup, as the final dump counts it, but
 * without touching its storage.
 */
static __always_inline void live_wakeup(struct swoffcpu_thread_rec *r, struct task_struct *t,
					struct task_acct *a, __u64 now)
{
	__u64 woken, d;
	__u32 s = a->state;

	if (!queue_clock || !is_wait(s) || s >= SWOFFCPU_NSTATES)
		return;
	woken = woken_at(a, now, kernel_run_delay(t));
	if (woken <= a->since || woken >= now)
		return;
	d = now - woken;
	if (r->ns[s] < d)
		return;
	r->ns[s] -= d;
	r->ns[SWOFFCPU_RUNNABLE] += d;
}

#endif /* SWOFFCPU_TARGETS_BPF_H */
