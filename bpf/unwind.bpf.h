/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DWARF unwinding of user stacks in the kernel, for code built without frame
 * pointers (docs/unwinding.md).
 *
 * User space turns each module's .eh_frame into a table of rows (bpf/swoffcpu.h,
 * swoffcpu_unwind_row), all tables in one array (`unwind_rows`, mmap'ed by user
 * space), and gives each traced process its executable mappings with the table
 * of each (`unwind_procs`). At a walk, the unwinder starts from the task's saved
 * user registers (ip, sp, bp), and for each frame finds the mapping of the pc
 * (binary search), the row of the pc in its module's table (binary search), the
 * CFA from it, the return address at CFA - 8 and the caller's rbp: up to
 * SWOFFCPU_UNWIND_MAX_DEPTH frames. A stack that does not reach the outermost
 * frame (the return address rule "undefined" of _start and clone3) ends with a
 * marker frame that says why; every reason is counted (`unwind_counters`). A
 * process that exec'ed since its mappings were given walks frame pointers
 * until user space gives the new ones (`exec_id`).
 *
 * Hooks: walk_user_stack and seed_user_stack (stacks.bpf.h) call
 * dwarf_user_stack / dwarf_task_stack first; a process without tables keeps the
 * frame-pointer walk.
 */
#ifndef SWOFFCPU_UNWIND_BPF_H
#define SWOFFCPU_UNWIND_BPF_H

/* Set by the loader: SWOFFCPU_UNWIND_FP, _DWARF or _AUTO. */
const volatile __u32 unwind_mode = SWOFFCPU_UNWIND_FP;

/* Every module's rows, table after table. Sized by the loader; written by user space
 * through mmap (BPF_F_MMAPABLE). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swoffcpu_unwind_row);
} unwind_rows SEC(".maps");

/* tgid -> its executable mappings. Sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct swoffcpu_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWOFFCPU_UNWIND_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} unwind_counters SEC(".maps");

static __always_inline void unwind_count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&unwind_counters, &idx);

	if (c)
		*c += n;
}

/* The registers of the frame being unwound. Kept in map memory: values the verifier
 * does not track, so that the bpf_loop callback's states converge at once. */
struct unwind_regs {
	__u64 pc;
	__u64 sp;
	__u64 bp;
	__u32 n;       /* frames written */
	__u32 reason;  /* SWOFFCPU_UNWIND_* once stopped */
};

/* Slot 0 for the tracepoints, SEED_SLOT for the sleepable seed walk (see `scratch`). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct unwind_regs);
} unwind_scratch SEC(".maps");

struct unwind_ctx {
	struct unwind_regs *r;
	struct swoffcpu_unwind_proc *proc;
	struct swoffcpu_stack *buf;
	struct task_struct *task; /* the sleepable walk's task; NULL: the current one */
};

/* The mapping holding pc, or NULL. */
static __always_inline struct swoffcpu_unwind_mapping *find_mapping(struct swoffcpu_unwind_proc *p, __u64 pc)
{
	__u32 lo = 0, hi = p->n, mid;

	if (hi > SWOFFCPU_UNWIND_MAX_MAPPINGS)
		return NULL;
	for (int k = 0; k < 9; k++) { /* 2^9 > SWOFFCPU_UNWIND_MAX_MAPPINGS */
		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		if (mid >= SWOFFCPU_UNWIND_MAX_MAPPINGS)
			return NULL;
		if (pc < p->m[mid].start)
			hi = mid;
		else if (pc >= p->m[mid].end)
			lo = mid + 1;
		else
			return &p->m[mid];
	}
	return NULL;
}

/* The row in effect at `addr` (ELF vaddr) in the table [start, start + len): the last row
 * whose pc <= addr; NULL if none. */
static __always_inline struct swoffcpu_unwind_row *find_row(__u32 start, __u32 len, __u64 addr)
{
	struct swoffcpu_unwind_row *row;
	__u32 lo = 0, hi = len, mid, idx;

	if (addr > 0xffffffffULL)
		return NULL;
	for (int k = 0; k < 25; k++) { /* tables up to 2^25 rows */
		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		idx = start + mid;
		row = bpf_map_lookup_elem(&unwind_rows, &idx);
		if (!row)
			return NULL;
		if (row->pc <= (__u32)addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	idx = start + lo - 1;
	return bpf_map_lookup_elem(&unwind_rows, &idx);
}

static __always_inline long stop_unwind(struct unwind_regs *r, __u32 reason)
{
	r->reason = reason;
	return 1;
}

/*
 * One frame: records the pc, finds its caller's pc, sp and bp. `task_read`: read
 * through bpf_copy_from_user_task (sleepable programs) instead of the current
 * task's bpf_probe_read_user.
 */
static __always_inline long unwind_frame(__u32 i, struct unwind_ctx *c, bool task_read)
{
	struct unwind_regs *r = c->r;
	struct swoffcpu_unwind_mapping *m;
	struct swoffcpu_unwind_row *row;
	__u64 pc = r->pc, sp = r->sp, bp = r->bp, lookup, cfa, ra = 0, nbp = bp;
	__s64 rbp_off = 0;
	long err;

	if (i >= SWOFFCPU_UNWIND_MAX_DEPTH)
		return stop_unwind(r, SWOFFCPU_UNWIND_DEPTH);
	c->buf->ip[i] = pc;
	r->n = i + 1;
	/* A caller's pc is a return address: the call is the instruction before it. */
	lookup = i ? pc - 1 : pc;
	m = find_mapping(c->proc, lookup);
	if (!m)
		return stop_unwind(r, SWOFFCPU_UNWIND_NO_MAPPING);
	if (unwind_mode == SWOFFCPU_UNWIND_AUTO && i && (m->flags & SWOFFCPU_UNWIND_F_FP) && bp > sp) {
		/* The frame-pointer step: a caller in a module whose every function keeps rbp. */
		cfa = bp + 16;
		rbp_off = -2;
	} else {
		if (!m->table_len)
			return stop_unwind(r, SWOFFCPU_UNWIND_NO_TABLE);
		row = find_row(m->table_start, m->table_len, lookup - m->bias);
		if (!row)
			return stop_unwind(r, SWOFFCPU_UNWIND_NO_CFI);
		switch (row->kind) {
		case SWOFFCPU_CFA_RSP:
			cfa = sp + row->cfa_off;
			break;
		case SWOFFCPU_CFA_RBP:
			cfa = bp + row->cfa_off;
			break;
		case SWOFFCPU_CFA_PLT:
			cfa = sp + row->cfa_off + ((__s64)(pc & 15) >= row->rbp_off ? 8 : 0);
			break;
		case SWOFFCPU_CFA_END:
			return stop_unwind(r, SWOFFCPU_UNWIND_WHOLE);
		case SWOFFCPU_CFA_NONE:
			return stop_unwind(r, SWOFFCPU_UNWIND_NO_CFI);
		default:
			return stop_unwind(r, SWOFFCPU_UNWIND_UNSUPPORTED);
		}
		if (row->kind != SWOFFCPU_CFA_PLT)
			rbp_off = row->rbp_off;
	}
	if (task_read)
		err = bpf_copy_from_user_task(&ra, sizeof(ra), (void *)(cfa - 8), c->task, 0);
	else
		err = bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8));
	if (!err && rbp_off) {
		if (task_read)
			err = bpf_copy_from_user_task(&nbp, sizeof(nbp), (void *)(cfa + rbp_off * 8), c->task, 0);
		else
			err = bpf_probe_read_user(&nbp, sizeof(nbp), (void *)(cfa + rbp_off * 8));
	}
	if (err)
		return stop_unwind(r, SWOFFCPU_UNWIND_READ_FAULT);
	if (ra == 0) /* code that ends its stack with a null return address */
		return stop_unwind(r, SWOFFCPU_UNWIND_WHOLE);
	if (cfa <= sp || ra < 4096 || ra >= 0x800000000000ULL)
		return stop_unwind(r, SWOFFCPU_UNWIND_BAD_FRAME);
	r->pc = ra;
	r->sp = cfa;
	r->bp = nbp;
	return 0;
}

static long unwind_step(__u32 i, void *data)
{
	return unwind_frame(i, data, false);
}

static long unwind_step_task(__u32 i, void *data)
{
	return unwind_frame(i, data, true);
}

/*
 * Unwinds from the registers `regs` into `buf` (leaf first, a marker frame at the root
 * end when not whole) and stores the stack. Returns false when the process has no
 * tables (the caller walks frame pointers instead).
 */
static __always_inline bool dwarf_unwind(struct pt_regs *regs, struct task_struct *task, __u32 tgid,
					 __u64 exec_id, struct swoffcpu_stack *buf, __u64 *id, __u64 disc)
{
	struct swoffcpu_user_leaf *leaf;
	struct unwind_ctx c = {};
	bool added = false;
	__u32 slot, n, reason;

	if (unwind_mode == SWOFFCPU_UNWIND_FP || !regs)
		return false;
	c.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	if (c.proc && !c.proc->exec_id)
		c.proc->exec_id = exec_id + 1;
	if (!c.proc || c.proc->exec_id != exec_id + 1) {
		/* No tables, or the process exec'ed since they were given: frame pointers. */
		unwind_count(SWOFFCPU_UNWIND_CTR_FP_FALLBACK, 1);
		return false;
	}
	slot = task ? SEED_SLOT : 0;
	c.r = bpf_map_lookup_elem(&unwind_scratch, &slot);
	if (!c.r)
		return false;
	c.buf = buf;
	c.task = task;
	c.r->pc = regs->ip;
	c.r->sp = regs->sp;
	c.r->bp = regs->bp;
	c.r->n = 0;
	c.r->reason = SWOFFCPU_UNWIND_DEPTH;
	__builtin_memset(buf, 0, sizeof(*buf));
	bpf_loop(SWOFFCPU_UNWIND_MAX_DEPTH + 1, task ? unwind_step_task : unwind_step, &c, 0);
	n = c.r->n;
	reason = c.r->reason;
	if (n > SWOFFCPU_UNWIND_MAX_DEPTH)
		n = SWOFFCPU_UNWIND_MAX_DEPTH;
	if (reason >= SWOFFCPU_UNWIND_NREASONS)
		reason = SWOFFCPU_UNWIND_BAD_FRAME;
	if (reason != SWOFFCPU_UNWIND_WHOLE && n < SWOFFCPU_MAX_FRAMES) {
		buf->ip[n] = SWOFFCPU_UNWIND_MARKER + reason;
		n++;
	}
	unwind_count(reason, 1);
	unwind_count(SWOFFCPU_UNWIND_CTR_WALKS, 1);
	unwind_count(SWOFFCPU_UNWIND_CTR_FRAMES, c.r->n);
	/* Seeded apart from frame-pointer stacks; no leaf context is kept (nothing to recover). */
	*id = store_stack(&user_stacks, buf, (long)n * 8, &added, 0x5eed0dfULL ^ disc, false);
	/* A new stack keeps its registers (no stack bytes: nothing to recover), for user
	 * space to tell whose stack an address is (LockResolver's [stack:TID] names). */
	leaf = bpf_map_lookup_elem(&leaf_scratch, &slot);
	if (added && *id >= 16 && leaf) {
		leaf->ip = regs->ip;
		leaf->sp = regs->sp;
		leaf->bp = regs->bp;
		leaf->len = 0;
		bpf_map_update_elem(&user_leaves, id, leaf, BPF_NOEXIST);
	}
	return true;
}

/* walk_user_stack's hook: the current task, at switch-out. */
static __always_inline bool dwarf_user_stack(struct swoffcpu_stack *buf, __u64 *id, __u64 disc)
{
	struct task_struct *t;

	if (unwind_mode == SWOFFCPU_UNWIND_FP)
		return false;
	t = bpf_get_current_task_btf();
	return dwarf_unwind((struct pt_regs *)bpf_task_pt_regs(t), NULL, t->tgid, t->self_exec_id, buf, id, disc);
}

/* seed_user_stack's hook: another task, from the sleepable iterator. */
static __always_inline bool dwarf_task_stack(struct task_struct *t, struct swoffcpu_stack *buf, __u64 *id, __u64 disc)
{
	if (unwind_mode == SWOFFCPU_UNWIND_FP)
		return false;
	return dwarf_unwind((struct pt_regs *)bpf_task_pt_regs(t), t, t->tgid, t->self_exec_id, buf, id, disc);
}

#endif /* SWOFFCPU_UNWIND_BPF_H */
