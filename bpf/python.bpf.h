/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python frames: at a user stack walk of a thread of a CPython process, the
 * interpreter's own frame chain is read (as py-spy and the OpenTelemetry eBPF
 * profiler read it): the thread's PyThreadState is found in the interpreter's
 * thread list by its thread id (pthread_self(), which on x86-64 is the thread's
 * fs base), then tstate -> [cframe ->] current frame -> previous -> ... each
 * frame's code object and instruction. The loader gives, per process, where
 * _PyRuntime is and the offsets of that exact version (swoffcpu_py_proc, from
 * the version's own headers: scripts/python/offsets.c); processes without an
 * entry cost one hash lookup a walk.
 *
 * The chain's hash is mixed into the user stack's id (stacks.bpf.h), and the
 * chain is kept in `py_stacks` under that id; user space names code objects
 * (reading the process's memory) and puts the frames in place of the
 * interpreter's _PyEval_EvalFrameDefault frames.
 *
 * Reads go through bpf_probe_read_user at switch-out (the task is current) and
 * bpf_copy_from_user_task in the sleepable seed iterator; each has its own
 * bpf_loop callbacks, since the latter helper exists only in sleepable programs.
 */
#ifndef SWOFFCPU_PYTHON_BPF_H
#define SWOFFCPU_PYTHON_BPF_H

/* Per Python process (tgid): written by the loader before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SWOFFCPU_FAST_TGIDS * 8);
	__type(key, __u32);
	__type(value, struct swoffcpu_py_proc);
} py_procs SEC(".maps");

/* The Python frames of each user stack id that has some. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct swoffcpu_py_stack);
} py_stacks SEC(".maps");

/* Per-CPU room for the chain being walked: slot 0 for the tracepoints, PY_SEED_SLOT for the
 * sleepable seed walk, which can sleep reading another task's memory while a traced Python
 * thread switching out on that CPU walks into slot 0 (as `scratch` in stacks.bpf.h). */
#define PY_SEED_SLOT 1
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct swoffcpu_py_stack);
} py_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWOFFCPU_PY_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} py_counters SEC(".maps");

/* Each thread's PyThreadState, once found (checked at each use); for a thread that has
 * none (a thread of a C library), when the list may be searched again. */
struct py_thread {
	__u64 runtime;
	__u64 tstate;
	__u64 retry_ns;
};

/* A thread without a thread state is searched for again after this long: a C thread may
 * call into Python later (PyGILState_Ensure). */
#define PY_RETRY_NS 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_thread);
} py_threads SEC(".maps");

static __always_inline void py_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&py_counters, &idx);

	if (c)
		*c += 1;
}

struct py_walk {
	struct task_struct *t;
	struct swoffcpu_py_proc *cfg;
	struct swoffcpu_py_stack *st;
	__u64 fsbase;
	__u64 ptr;   /* thread state in the search; frame in the walk */
	__u64 found; /* the thread state found */
	__u64 h;
};

static __always_inline __u64 py_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * The two loops, written once for each way of reading the task's memory.
 * Search: one thread-list entry a step. Walk: one frame a step.
 */
#define PY_LOOPS(SUFFIX, READ)                                                               \
static long py_search_##SUFFIX(__u32 i, void *data)                                         \
{                                                                                            \
	struct py_walk *w = data;                                                            \
	__u64 id = 0, next = 0;                                                              \
                                                                                             \
	if (!w->ptr || READ(&id, 8, w->ptr + w->cfg->tstate_thread_id))                      \
		return 1;                                                                    \
	if (id == w->fsbase) {                                                               \
		w->found = w->ptr;                                                           \
		return 1;                                                                    \
	}                                                                                    \
	if (READ(&next, 8, w->ptr + w->cfg->tstate_next))                                    \
		return 1;                                                                    \
	w->ptr = next;                                                                       \
	return 0;                                                                            \
}                                                                                            \
                                                                                             \
static long py_frame_##SUFFIX(__u32 i, void *data)                                          \
{                                                                                            \
	struct py_walk *w = data;                                                            \
	struct swoffcpu_py_stack *st = w->st;                                                \
	__u64 code = 0, instr = 0, prev = 0;                                                 \
	__u8 owner = 0;                                                                      \
	__u32 n = st->n;                                                                     \
                                                                                             \
	if (!w->ptr)                                                                         \
		return 1;                                                                    \
	if (n >= SWOFFCPU_PY_MAX_FRAMES) {                                                   \
		st->flags |= SWOFFCPU_PY_TRUNCATED;                                          \
		return 1;                                                                    \
	}                                                                                    \
	if (READ(&code, 8, w->ptr + w->cfg->frame_code))                                     \
		return 1;                                                                    \
	if (w->cfg->kind == SWOFFCPU_PY_KIND_310) {                                          \
		__u32 lasti = 0;                                                             \
		READ(&lasti, 4, w->ptr + w->cfg->frame_instr);                               \
		instr = lasti;                                                               \
	} else {                                                                             \
		READ(&instr, 8, w->ptr + w->cfg->frame_instr);                               \
		READ(&owner, 1, w->ptr + w->cfg->frame_owner);                               \
	}                                                                                    \
	if (READ(&prev, 8, w->ptr + w->cfg->frame_previous))                                 \
		prev = 0;                                                                    \
	w->ptr = prev;                                                                       \
	if (w->cfg->kind == SWOFFCPU_PY_KIND_312 && owner == w->cfg->owner_cstack) {         \
		/* The shim a _PyEval_EvalFrameDefault call pushes below its first frame. */ \
		if (n > 0 && n <= SWOFFCPU_PY_MAX_FRAMES)                                     \
			st->f[(n - 1) & (SWOFFCPU_PY_MAX_FRAMES - 1)].code |= SWOFFCPU_PY_ENTRY; \
		return 0;                                                                    \
	}                                                                                    \
	if (w->cfg->kind == SWOFFCPU_PY_KIND_311 && owner)                                   \
		code |= SWOFFCPU_PY_ENTRY;                                                   \
	st->f[n & (SWOFFCPU_PY_MAX_FRAMES - 1)].code = code;                                 \
	st->f[n & (SWOFFCPU_PY_MAX_FRAMES - 1)].instr = instr;                               \
	st->n = n + 1;                                                                       \
	w->h = py_mix(w->h, code);                                                           \
	w->h = py_mix(w->h, instr);                                                          \
	return 0;                                                                            \
}

#define PY_READ_CURRENT(dst, size, addr) bpf_probe_read_user((dst), (size), (void *)(addr))
#define PY_READ_TASK(dst, size, addr) bpf_copy_from_user_task((dst), (size), (void *)(addr), w->t, 0)

PY_LOOPS(current, PY_READ_CURRENT)
PY_LOOPS(task, PY_READ_TASK)

/*
 * Reads the Python frame chain of `t` (sleepable: from any context; else `t` is
 * current) into the per-CPU scratch; returns its hash (0: not a Python thread, or
 * no frame). `futex_uaddr`: the futex the thread waits on, 0 if none.
 */
static __always_inline __u64 py_walk_stack(struct task_struct *t, __u64 futex_uaddr, bool sleepable)
{
	struct swoffcpu_py_proc *cfg;
	struct swoffcpu_py_stack *st;
	struct py_thread *cache;
	struct py_walk w = {};
	__u32 tgid = t->tgid, slot = sleepable ? PY_SEED_SLOT : 0;
	__u64 ptr = 0;

	cfg = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!cfg)
		return 0;
	st = bpf_map_lookup_elem(&py_scratch, &slot);
	if (!st)
		return 0;
	w.t = t;
	w.cfg = cfg;
	w.st = st;
	w.fsbase = BPF_CORE_READ(t, thread.fsbase);
	w.h = 0x50595448ULL; /* "PYTH" */
	st->n = 0;
	st->flags = 0;

	/* The thread state: the one found before if it is still this thread's. */
	cache = bpf_task_storage_get(&py_threads, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (cache && cache->runtime == cfg->runtime && cache->tstate) {
		w.ptr = cache->tstate;
		if (sleepable)
			py_search_task(0, &w);
		else
			py_search_current(0, &w);
	}
	if (!w.found && cache && cache->runtime == cfg->runtime && !cache->tstate &&
	    bpf_ktime_get_ns() < cache->retry_ns) {
		py_count(SWOFFCPU_PY_CTR_NO_TSTATE);
		return 0;
	}
	if (!w.found) {
		if (sleepable) {
			if (bpf_copy_from_user_task(&ptr, 8, (void *)(cfg->runtime + cfg->runtime_interpreters_head), t, 0) ||
			    !ptr || bpf_copy_from_user_task(&w.ptr, 8, (void *)(ptr + cfg->interp_threads_head), t, 0))
				w.ptr = 0;
			bpf_loop(SWOFFCPU_PY_MAX_THREADS, py_search_task, &w, 0);
		} else {
			if (bpf_probe_read_user(&ptr, 8, (void *)(cfg->runtime + cfg->runtime_interpreters_head)) ||
			    !ptr || bpf_probe_read_user(&w.ptr, 8, (void *)(ptr + cfg->interp_threads_head)))
				w.ptr = 0;
			bpf_loop(SWOFFCPU_PY_MAX_THREADS, py_search_current, &w, 0);
		}
		if (cache) {
			cache->runtime = cfg->runtime;
			cache->tstate = w.found;
			cache->retry_ns = bpf_ktime_get_ns() + PY_RETRY_NS;
		}
	}
	if (!w.found) {
		py_count(SWOFFCPU_PY_CTR_NO_TSTATE);
		return 0;
	}

	/* The innermost frame. */
	ptr = 0;
	if (sleepable) {
		if (bpf_copy_from_user_task(&ptr, 8, (void *)(w.found + cfg->tstate_frame), t, 0))
			ptr = 0;
		if (ptr && cfg->cframe_current_frame != 0xffff &&
		    bpf_copy_from_user_task(&ptr, 8, (void *)(ptr + cfg->cframe_current_frame), t, 0))
			ptr = 0;
	} else {
		if (bpf_probe_read_user(&ptr, 8, (void *)(w.found + cfg->tstate_frame)))
			ptr = 0;
		if (ptr && cfg->cframe_current_frame != 0xffff &&
		    bpf_probe_read_user(&ptr, 8, (void *)(ptr + cfg->cframe_current_frame)))
			ptr = 0;
	}
	w.ptr = ptr;
	if (sleepable)
		bpf_loop(SWOFFCPU_PY_MAX_FRAMES + 16, py_frame_task, &w, 0);
	else
		bpf_loop(SWOFFCPU_PY_MAX_FRAMES + 16, py_frame_current, &w, 0);
	if (futex_uaddr && futex_uaddr >= cfg->gil_start && futex_uaddr < cfg->gil_end)
		st->flags |= SWOFFCPU_PY_GIL;
	if (!st->n && !(st->flags & SWOFFCPU_PY_GIL)) {
		py_count(SWOFFCPU_PY_CTR_NO_FRAME);
		return 0;
	}
	py_count(SWOFFCPU_PY_CTR_WALKS);
	return py_mix(w.h, st->flags);
}

/* Keeps the chain just walked (py_walk_stack, `sleepable` as there) under the user stack id
 * it was mixed into. */
static __always_inline void py_store_stack(__u64 id, bool sleepable)
{
	struct swoffcpu_py_stack *st;
	__u32 slot = sleepable ? PY_SEED_SLOT : 0;
	long err;

	if (id < 16)
		return;
	st = bpf_map_lookup_elem(&py_scratch, &slot);
	if (!st)
		return;
	err = bpf_map_update_elem(&py_stacks, &id, st, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */)
		py_count(SWOFFCPU_PY_CTR_FULL);
}

#endif /* SWOFFCPU_PYTHON_BPF_H */
