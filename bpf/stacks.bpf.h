/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack walking: which switch-outs are walked (sampling), storing each distinct
 * stack once, the leaf context of user stacks, the time per stack, and the
 * sleepable walk of the user stacks of threads found off-CPU at seeding.
 *
 * The ids of stacks live in the thread's record (task.bpf.h): `ustack`/`kstack`
 * and the interval's sampling `weight`; accounting.bpf.h calls add_stack_time()
 * whenever a walked off-CPU interval ends.
 */
#ifndef SWOFFCPU_STACKS_BPF_H
#define SWOFFCPU_STACKS_BPF_H

/* Errors of bpf_map_update_elem (include/uapi/asm-generic/errno*.h). */
#define EEXIST 17
#define ENOMEM 12
#define E2BIG  7

/* Set by the loader before load. */
const volatile __u32 walk_user = 1;      /* walk user stacks at switch-out */
const volatile __u32 walk_kernel = 1;    /* walk kernel stacks at switch-out */
/*
 * Stack-walk sampling. Walking both stacks costs microseconds, more than all the
 * accounting: a thread's first switch-out after walk_period_ns without a walk is
 * always walked (so threads that switch rarely get every stack; preemptions and
 * waits timed apart, see walk_stacks); sooner than
 * that, 1 in walk_one_in switch-outs is, at random, and counts walk_one_in
 * times. The decision is made before the interval's length is known, so every
 * stack's time is an unbiased estimate. walk_one_in = 1 walks every switch-out.
 */
const volatile __u64 walk_period_ns = 10000000;
const volatile __u32 walk_one_in = 64;

/* Written by user space before attaching: see swoffcpu_text_range. */
struct swoffcpu_text_range text_ranges[SWOFFCPU_MAX_TEXT_RANGES] = {};
__u32 n_text_ranges = 0;

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

/* Per-CPU room to walk a stack into (too big for the 512-byte BPF stack). Slot 0 for the
 * tracepoints, slot 1 (SEED_SLOT) for the sleepable seed walk: it can sleep reading another
 * task's memory, and a traced thread switching out on that CPU meanwhile walks into slot 0. */
#define SEED_SLOT 1
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct swoffcpu_stack);
} scratch SEC(".maps");

/* Per-CPU room for a leaf context (the stack scratch holds the frames meanwhile); slots as `scratch`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct swoffcpu_user_leaf);
} leaf_scratch SEC(".maps");

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

/* DWARF unwinding (unwind.bpf.h, included after this file): true when it took the walk. */
static __always_inline bool dwarf_user_stack(struct swoffcpu_stack *buf, __u64 *id, __u64 disc);
static __always_inline bool dwarf_task_stack(struct task_struct *t, struct swoffcpu_stack *buf, __u64 *id, __u64 disc);

/*
 * Walks the current task's user stack (frame pointers) and stores it, its id
 * mixed with the leaf region's code pointers; a new stack keeps its leaf context,
 * from which user space recovers the frames the walk skipped.
 */
static __always_inline __u64 walk_user_stack_py(void *ctx, struct swoffcpu_stack *buf, __u64 futex_uaddr)
{
	struct swoffcpu_user_leaf *leaf;
	bool added = false;
	__u64 id, py;

	/* A Python thread's frame chain (python.bpf.h) makes the stack its own. */
	py = py_walk_stack(bpf_get_current_task_btf(), futex_uaddr, false);
	if (dwarf_user_stack(buf, &id, py)) {
		if (py)
			py_store_stack(id, false);
		return id;
	}
	leaf = read_leaf();
	id = store_stack(&user_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), BPF_F_USER_STACK), &added,
			 (leaf ? leaf_discriminator(leaf) : 0) ^ py, true);
	if (added && leaf && id >= 16)
		bpf_map_update_elem(&user_leaves, &id, leaf, BPF_NOEXIST);
	if (py)
		py_store_stack(id, false);
	return id;
}

static __always_inline __u64 walk_user_stack(void *ctx, struct swoffcpu_stack *buf)
{
	return walk_user_stack_py(ctx, buf, 0);
}

/*
 * At switch-out (in the task's own context, where its user stack is readable):
 * decide whether to walk this off-CPU period's stacks, and walk them.
 */
static __always_inline void walk_stacks(void *ctx, struct task_acct *a, __u64 now)
{
	struct swoffcpu_stack *buf;
	bool added = false, runnable;
	__u32 zero = 0;
	__u64 k = 1;

	a->weight = 0;
	a->ustack = SWOFFCPU_STACK_NONE;
	a->kstack = SWOFFCPU_STACK_NONE;
	if (!walk_user && !walk_kernel)
		return;
	/* Preemptions and waits have a period each: a thread preempted just before it waits (a
	 * lock taken and released in a tight loop, then waited for, every 20 ms) spent its period's
	 * walk on the preemption and left every wait to the 1-in-N chance, so that a 2 s trace
	 * showed all its blocked time as [not sampled]. */
	runnable = a->state == SWOFFCPU_RUNNABLE;
	if (walk_one_in > 1 && now - (runnable ? a->last_runnable_walk_ns : a->last_walk_ns) < walk_period_ns) {
		k = walk_one_in;
		if (bpf_get_prandom_u32() % k)
			return;
	}
	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return;
	a->weight = k;
	if (runnable)
		a->last_runnable_walk_ns = now;
	else
		a->last_walk_ns = now;
	if (walk_user)
		a->ustack = walk_user_stack_py(ctx, buf, a->state == SWOFFCPU_BLOCKED ? a->futex_uaddr : 0);
	if (walk_kernel)
		a->kstack = store_stack(&kernel_stacks, buf, bpf_get_stack(ctx, buf, sizeof(*buf), 0), &added, 0, false);
	count(SWOFFCPU_CTR_STACK_WALKS, 1);
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
	a->last_runnable_walk_ns = now;
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
 * The user stacks of threads found off-CPU at seeding. A BPF stack walk reads a
 * user stack only from the task's own context, but a sleepable iterator may
 * read another task's memory (bpf_copy_from_user_task): walk the frame-pointer
 * chain from the task's saved registers, as bpf_get_stack would, and keep the
 * leaf context for the .eh_frame recovery.
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

/*
 * The seed_user_stacks iterator, for one task: walks the user stack of a thread
 * still in the off-CPU interval it was seeded in (SWOFFCPU_STACK_BEFORE) from its
 * saved registers, stores it (a new one with its leaf context) and gives it to
 * the interval. A thread that moved on since seeding keeps the marker (its
 * seeded interval is already closed).
 */
static __always_inline int seed_user_stack(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct swoffcpu_user_leaf *leaf;
	struct swoffcpu_stack *buf;
	struct task_acct *a;
	struct pt_regs *regs;
	struct fp_walk walk = {};
	struct hash_walk hw = {};
	bool added = false;
	__u32 seed_slot = SEED_SLOT;
	__u64 id, py;
	int n;

	if (!t || !walk_user)
		return 0;
	a = bpf_task_storage_get(&acct, t, 0, 0);
	if (!a || a->ustack != SWOFFCPU_STACK_BEFORE || a->since != a->start_ns)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	buf = bpf_map_lookup_elem(&scratch, &seed_slot);
	leaf = bpf_map_lookup_elem(&leaf_scratch, &seed_slot);
	if (!regs || !buf || !leaf)
		return 0;
	py = py_walk_stack(t, a->state == SWOFFCPU_BLOCKED ? a->futex_uaddr : 0, true);
	if (dwarf_task_stack(t, buf, &id, py)) {
		if (py && id >= 16)
			py_store_stack(id, true);
		if (id >= 16 && a->since == a->start_ns)
			a->ustack = id;
		return 0;
	}
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
	hw.h = 0xcbf29ce484222325ULL ^ leaf->sp ^ py;
	hw.n = n;
	bpf_loop(SWOFFCPU_MAX_FRAMES, hash_step, &hw, 0);
	id = hw.h < 16 ? hw.h + 16 : hw.h;
	added = bpf_map_update_elem(&user_stacks, &id, buf, BPF_NOEXIST) == 0;
	if (!added && !bpf_map_lookup_elem(&user_stacks, &id))
		return 0; /* not stored: keep the marker */
	if (added && id >= 16)
		bpf_map_update_elem(&user_leaves, &id, leaf, BPF_NOEXIST);
	if (py)
		py_store_stack(id, true);
	/* Still in its seeded interval: take the stack (else its interval is closed already). */
	if (a->since == a->start_ns && id >= 16)
		a->ustack = id;
	return 0;
}

#endif /* SWOFFCPU_STACKS_BPF_H */
