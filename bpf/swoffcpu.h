/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs (bpf/swoffcpu.bpf.c) and the Swift
 * loader (imported through Sources/CSwoffcpuShims). Everything that crosses the
 * kernel/user boundary is defined here, with fixed-width __u32/__u64 fields, so
 * both sides agree on every byte. Kernel-only state stays in the kernel side's
 * files (bpf/swoffcpu.bpf.c and the headers it includes, bpf/<concern>.bpf.h).
 */
#ifndef SWOFFCPU_H
#define SWOFFCPU_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SWOFFCPU_COMM_LEN 16

/* Processes the kernel side can drop on a compare of their tgid, before the
 * task-storage lookup (`fast_tgids` in bpf/task.bpf.h). With more targets, the
 * loader leaves that filter empty. */
#define SWOFFCPU_FAST_TGIDS 8

/*
 * Thread states. The order is part of the record layout: ns[] is indexed by it.
 * SLEEP and SLEEP_D together are the "sleep" column of the report.
 */
#define SWOFFCPU_ON_CPU   0 /* running on a CPU: switch-in -> switch-out */
#define SWOFFCPU_RUNNABLE 1 /* on a run queue: wakeup or preemption -> switch-in */
#define SWOFFCPU_SLEEP    2 /* interruptible sleep, not a futex wait (poll, pipe, nanosleep) */
#define SWOFFCPU_SLEEP_D  3 /* uninterruptible sleep (D state: mostly disk I/O) */
#define SWOFFCPU_BLOCKED  4 /* futex wait: mutex, condvar, semaphore, rwlock */
#define SWOFFCPU_NSTATES  5

/* swoffcpu_thread_rec.flags */
#define SWOFFCPU_F_SEEDED 0x1 /* existed when tracing began: state read from the task */
#define SWOFFCPU_F_BORN   0x2 /* created while tracing */
#define SWOFFCPU_F_EXITED 0x4 /* exited while tracing: end_ns is its exit */
#define SWOFFCPU_F_KCLOCKS 0x8 /* kernel_on_cpu_ns and kernel_run_delay_ns are valid */

/*
 * One thread's accounting, emitted by the dump iterator (live threads, open
 * interval closed at the window end) and through the ring buffer at thread exit.
 * For each thread: sum(ns) == end_ns - start_ns.
 */
struct swoffcpu_thread_rec {
	__u32 tid;
	__u32 tgid;
	__u64 start_ns;               /* CLOCK_MONOTONIC: seeding or birth */
	__u64 end_ns;                 /* window end, or exit if F_EXITED */
	__u64 ns[SWOFFCPU_NSTATES];   /* time per state */
	__u64 switches;               /* switch-outs while traced */
	__u64 wakeups;                /* wakeups from sleep or a futex wait */
	__u32 flags;                  /* SWOFFCPU_F_* */
	__u32 state;                  /* state at end_ns (or at seeding, in seed output) */
	char comm[SWOFFCPU_COMM_LEN];
	/* Weighted off-CPU time of walked intervals that could not be added to the
	 * `stack_time` map (full): shown as lost, never spread over other stacks. */
	__u64 stack_lost_ns[SWOFFCPU_NSTATES];
	/* The kernel's own clocks over the same span (schedstat's fields 1 and 2):
	 * on-CPU (se.sum_exec_runtime) and run-queue wait (sched_info.run_delay). */
	__u64 kernel_on_cpu_ns;
	__u64 kernel_run_delay_ns;
	/* Of the on-CPU time: what the hypervisor took (steal) and, on kernels that
	 * account it apart (CONFIG_IRQ_TIME_ACCOUNTING), interrupts took. Neither is
	 * in kernel_on_cpu_ns (sum_exec_runtime runs on the run queue's task clock,
	 * which excludes both). */
	__u64 stolen_ns;
	__u64 irq_ns;
};

/*
 * Stacks. A stack is stored once in `user_stacks` or `kernel_stacks`, keyed by a hash of its frames;
 * time is summed in `stack_time` per (thread, state, user stack, kernel stack).
 * Stack walks are sampled (see bpf/stacks.bpf.h): a walked interval counts
 * `weight` times, so the sums are unbiased estimates; user space rescales them
 * per (thread, state) to the exact totals of the thread record.
 */
#define SWOFFCPU_MAX_FRAMES 127 /* the kernel's perf_event_max_stack default */

struct swoffcpu_stack {
	__u64 ip[SWOFFCPU_MAX_FRAMES]; /* leaf first; 0 ends a shorter stack */
};

#define SWOFFCPU_STACK_NONE 0 /* not walked, or walks disabled */

/*
 * Frame-pointer walks lose the frames between the leaf and the first function
 * that keeps a frame pointer (glibc's pthread_mutex_lock and its caller, say).
 * For each new user stack, its leaf context is kept: registers and the top of
 * the stack, from which user space recovers those frames (.eh_frame CFI, or
 * scanning for return addresses).
 */
#define SWOFFCPU_LEAF_BYTES 512

struct swoffcpu_user_leaf {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u64 len;                        /* bytes of stack copied from sp */
	__u8 stack[SWOFFCPU_LEAF_BYTES];
};

/*
 * The executable mappings of the traced processes, sorted (set by user space at
 * start). Two call paths into a library without frame pointers can have the same
 * frame-pointer walk: the frame that called the library is skipped. The words of
 * the leaf region [sp, bp) that point into executable code (return addresses,
 * mostly) are mixed into the user stack's id, so such paths get ids of their own.
 */
#define SWOFFCPU_MAX_TEXT_RANGES 64

struct swoffcpu_text_range {
	__u64 start;
	__u64 end;
};

struct swoffcpu_stack_key {
	__u32 tid;
	__u32 state;
	__u64 user_stack;   /* hash, key into `stacks`; or an SWOFFCPU_STACK_ERR_* */
	__u64 kernel_stack;
};

struct swoffcpu_stack_val {
	__u64 weighted_ns; /* sum of interval length x weight */
	__u64 intervals;   /* walked intervals */
};

/* Error markers in place of a hash (bpf_get_stack failed, `stacks` full or busy). */
#define SWOFFCPU_STACK_ERR_WALK 1
#define SWOFFCPU_STACK_ERR_FULL 2
#define SWOFFCPU_STACK_BEFORE   3 /* off-CPU since before the trace: user stack not readable */
#define SWOFFCPU_STACK_ERR_NOMEM 4 /* not stored: allocation failed or map busy */

/*
 * Locks. Every futex wait is summed per (process, futex address, waiting thread)
 * in `lock_waits`: exact, not sampled. The wakeups that end walked waits also
 * record who woke the waiter (the releaser, as Go's mutex profile attributes
 * contention to the unlocker) in `lock_wakers`, with both threads' stacks.
 */
struct swoffcpu_lock_key {
	__u32 tgid;
	__u32 tid;         /* the waiter */
	__u64 uaddr;       /* futex word (for futex_waitv: the waitv array) */
	__u32 op;          /* futex command (FUTEX_* & FUTEX_CMD_MASK), or SWOFFCPU_OP_* */
	__u32 pad;
};

#define SWOFFCPU_OP_FUTEX_WAIT2  0x100 /* futex_wait(2), futex2 */
#define SWOFFCPU_OP_FUTEX_WAITV  0x101 /* futex_waitv(2): uaddr is the waitv array */

struct swoffcpu_lock_val {
	__u64 wait_ns;     /* blocked time */
	__u64 waits;
	__u64 max_wait_ns;
};

struct swoffcpu_waker_key {
	__u32 tgid;
	__u32 waiter_tid;
	__u64 uaddr;
	__u64 waiter_user_stack;
	__u64 waiter_kernel_stack;
	__u32 waker_tid;
	__u32 waker_tgid;
	__u64 waker_user_stack;
	__u64 waker_kernel_stack;
};

struct swoffcpu_waker_val {
	__u64 weighted_ns; /* wait ended by these wakeups, weighted like stack time */
	__u64 wakeups;
};

/* Index of per-CPU counters in the `counters` map. */
#define SWOFFCPU_CTR_EVENTS         0 /* scheduler events handled for traced threads */
#define SWOFFCPU_CTR_STORAGE_FAIL   1 /* threads that could not get task storage: not traced */
#define SWOFFCPU_CTR_RINGBUF_DROP   2 /* exit records lost: ring buffer full */
#define SWOFFCPU_CTR_RINGBUF_DROP_NS 3 /* thread-time those lost exit records covered */
#define SWOFFCPU_CTR_STACK_WALKS     4 /* switch-outs whose stacks were walked */
#define SWOFFCPU_CTR_STACK_FULL      5 /* stacks not stored: `stacks` map full */
#define SWOFFCPU_CTR_STACK_TIME_FULL 6 /* intervals not summed: `stack_time` map full */
#define SWOFFCPU_CTR_SWITCH_OUTS     7 /* switch-outs of traced threads */
#define SWOFFCPU_CTR_STACK_BUSY      8 /* stacks not stored: allocation failed, or map busy */
#define SWOFFCPU_CTR_LOCKS_FULL      9 /* futex waits not summed: `lock_waits` full */
#define SWOFFCPU_CTR_LOCKS_FULL_NS  10 /* the blocked time they covered */
#define SWOFFCPU_CTR_WAKERS_FULL    11 /* wakeups not recorded: `lock_wakers` full */
#define SWOFFCPU_CTR_MISSED_SWITCHES 12 /* switches a program run missed, recovered from the kernel's clocks */
#define SWOFFCPU_CTR_DEFERRED       13 /* records begun without task storage, kept in `acct_pending` until adopted */
#define SWOFFCPU_NCOUNTERS          14

/*
 * Follow (`--follow`, `-- COMMAND`; bpf/follow.bpf.h): the traced processes' births,
 * execs and exits, sent through the `proc_events` ring buffer so that user space keeps
 * the process tree (parent, command line, exit status) and takes a new image's symbols
 * while the process lives.
 */
#define SWOFFCPU_PROC_FORK 1 /* a traced task created a process: traced from birth */
#define SWOFFCPU_PROC_EXEC 2 /* a traced process exec'ed: comm and args are the new image's */
#define SWOFFCPU_PROC_EXIT 3 /* a traced process's last thread exited */

#define SWOFFCPU_ARGS_LEN 256

struct swoffcpu_proc_event {
	__u32 type;                    /* SWOFFCPU_PROC_* */
	__u32 pid;                     /* the process (tgid) */
	__u32 ppid;                    /* its parent process (the real parent's tgid) */
	__u32 exit_code;               /* EXIT: wait(2) status (code << 8, or the signal, | 0x80 with a core) */
	__u64 time_ns;                 /* CLOCK_MONOTONIC */
	char comm[SWOFFCPU_COMM_LEN];
	__u32 args_len;                /* EXEC: bytes of args used */
	__u32 pad;
	char args[SWOFFCPU_ARGS_LEN];  /* EXEC: argv, NUL-separated, cut at SWOFFCPU_ARGS_LEN */
};

/*
 * DWARF unwinding (bpf/unwind.bpf.h, docs/unwinding.md). User space turns each
 * module's .eh_frame into a sorted table of rows (`unwind_rows`, one array for
 * every module) and gives each traced process its executable mappings
 * (`unwind_procs`); the kernel side unwinds from the saved user registers.
 */
#define SWOFFCPU_UNWIND_FP    0 /* frame pointers only (bpf_get_stack, leaf recovery in user space) */
#define SWOFFCPU_UNWIND_DWARF 1 /* the tables for every frame */
#define SWOFFCPU_UNWIND_AUTO  2 /* the tables, frame pointers for the callers in modules built with them */

#define SWOFFCPU_UNWIND_MAX_MAPPINGS 256 /* executable mappings of a process */
#define SWOFFCPU_UNWIND_MAX_DEPTH    126 /* frames unwound; one slot is left for a truncation marker */

/* How a row finds the CFA (the caller's stack pointer). */
#define SWOFFCPU_CFA_NONE        0 /* no CFI covers the pc */
#define SWOFFCPU_CFA_RSP         1 /* CFA = rsp + cfa_off */
#define SWOFFCPU_CFA_RBP         2 /* CFA = rbp + cfa_off */
#define SWOFFCPU_CFA_PLT         3 /* lazy PLT: rsp + cfa_off, + 8 when (pc & 15) >= rbp_off */
#define SWOFFCPU_CFA_END         4 /* outermost frame (return address undefined): the stack is whole */
#define SWOFFCPU_CFA_UNSUPPORTED 5 /* a rule the kernel side does not evaluate (expressions, other registers) */

/* One row: from `pc` (the module's ELF virtual address) up to the next row's. The return
 * address is at CFA - 8 (x86-64); the caller's rbp is at CFA + 8 * rbp_off, or unchanged (0). */
struct swoffcpu_unwind_row {
	__u32 pc;
	__u16 cfa_off;
	__u8 kind;     /* SWOFFCPU_CFA_* */
	__s8 rbp_off;
};

#define SWOFFCPU_UNWIND_F_FP 0x1 /* the module keeps frame pointers in every function */

struct swoffcpu_unwind_mapping {
	__u64 start;        /* executable mapping [start, end) */
	__u64 end;
	__u64 bias;         /* ELF virtual address = pc - bias */
	__u32 table_start;  /* first row in `unwind_rows` */
	__u32 table_len;    /* rows; 0: no table for this module */
	__u32 flags;        /* SWOFFCPU_UNWIND_F_* */
	__u32 pad;
};

/* A traced process's executable mappings, sorted by start (`unwind_procs`, keyed by tgid). */
struct swoffcpu_unwind_proc {
	__u32 n;
	__u32 generation;   /* bumped by user space at each refresh */
	/* The process's image: 0 from user space; the kernel side latches the task's
	 * self_exec_id + 1 at the first walk, and walks frame pointers once it differs
	 * (the process exec'ed: these mappings are the old image's, until a refresh). */
	__u64 exec_id;
	struct swoffcpu_unwind_mapping m[SWOFFCPU_UNWIND_MAX_MAPPINGS];
};

/* Why a DWARF unwind stopped: index into `unwind_counters`; a stack that is not whole
 * ends (root side) with the frame SWOFFCPU_UNWIND_MARKER + reason. */
#define SWOFFCPU_UNWIND_WHOLE       0 /* reached the outermost frame */
#define SWOFFCPU_UNWIND_NO_MAPPING  1 /* a pc in no known executable mapping (dlopen'ed since, JIT) */
#define SWOFFCPU_UNWIND_NO_TABLE    2 /* its module has no table (no .eh_frame, or no room) */
#define SWOFFCPU_UNWIND_NO_CFI      3 /* no CFI covers the pc */
#define SWOFFCPU_UNWIND_UNSUPPORTED 4 /* a CFI rule not evaluated here */
#define SWOFFCPU_UNWIND_READ_FAULT  5 /* the stack could not be read */
#define SWOFFCPU_UNWIND_DEPTH       6 /* more than SWOFFCPU_UNWIND_MAX_DEPTH frames */
#define SWOFFCPU_UNWIND_BAD_FRAME   7 /* the CFA did not move up, or a return address that is no code */
#define SWOFFCPU_UNWIND_NREASONS    8
#define SWOFFCPU_UNWIND_CTR_WALKS   8 /* DWARF unwinds */
#define SWOFFCPU_UNWIND_CTR_FRAMES  9 /* frames they found */
#define SWOFFCPU_UNWIND_CTR_FP_FALLBACK 10 /* walks of processes without tables (frame pointers) */
#define SWOFFCPU_UNWIND_NCOUNTERS   11
#define SWOFFCPU_UNWIND_MARKER 0xffffffffffffff00ULL

/*
 * Python (bpf/python.bpf.h): the interpreter's own frame chain, read at each
 * user stack walk of a thread of a CPython process and kept beside the native
 * stack (`py_stacks`, keyed by the user stack's id, whose hash it is mixed into).
 * The loader writes one swoffcpu_py_proc per Python process into `py_procs`
 * (keyed by tgid): where _PyRuntime is and the offsets of that exact version.
 */
#define SWOFFCPU_PY_MAX_FRAMES 64   /* innermost first; deeper frames are cut */
#define SWOFFCPU_PY_MAX_THREADS 256 /* interpreter thread-list entries searched */

/* swoffcpu_py_proc.kind: how frames link */
#define SWOFFCPU_PY_KIND_310 0 /* PyFrameObject: f_back, f_code, int f_lasti */
#define SWOFFCPU_PY_KIND_311 1 /* _PyInterpreterFrame, bool is_entry at `frame_owner` */
#define SWOFFCPU_PY_KIND_312 2 /* _PyInterpreterFrame, owner byte; C-stack shim frames */

struct swoffcpu_py_proc {
	__u64 runtime;    /* address of _PyRuntime */
	__u64 gil_start;  /* the GIL's struct: a futex wait inside is a wait for the GIL */
	__u64 gil_end;
	__u32 version;    /* PY_VERSION_HEX */
	__u16 kind;       /* SWOFFCPU_PY_KIND_* */
	__u16 runtime_interpreters_head;
	__u16 interp_threads_head;
	__u16 tstate_next;
	__u16 tstate_thread_id;     /* pthread_self(): the thread's fs base on x86-64 */
	__u16 tstate_frame;         /* frame (3.10), cframe (3.11, 3.12), current_frame (3.13) */
	__u16 cframe_current_frame; /* 0xffff: none (3.10, 3.13) */
	__u16 frame_previous;
	__u16 frame_code;
	__u16 frame_instr;          /* prev_instr / instr_ptr; 3.10: int f_lasti */
	__u16 frame_owner;          /* is_entry (3.11) or owner (3.12+) */
	__u16 owner_cstack;         /* owner value of a C-stack shim frame (3.12+) */
	__u16 pad[3];
};

/* swoffcpu_py_frame.code's low bit: the frame a _PyEval_EvalFrameDefault call began
 * with (its bottom). Code objects are aligned: the bit is free. */
#define SWOFFCPU_PY_ENTRY 1ULL

struct swoffcpu_py_frame {
	__u64 code;  /* PyCodeObject*, | SWOFFCPU_PY_ENTRY */
	__u64 instr; /* the instruction's address (3.10: its index, f_lasti) */
};

/* swoffcpu_py_stack.flags */
#define SWOFFCPU_PY_GIL       0x1 /* in a futex wait on the GIL */
#define SWOFFCPU_PY_TRUNCATED 0x2 /* more frames than SWOFFCPU_PY_MAX_FRAMES */

struct swoffcpu_py_stack {
	__u32 n;
	__u32 flags;
	struct swoffcpu_py_frame f[SWOFFCPU_PY_MAX_FRAMES];
};

/* Index of per-CPU counters in the `py_counters` map. */
#define SWOFFCPU_PY_CTR_WALKS     0 /* Python frame chains read */
#define SWOFFCPU_PY_CTR_NO_TSTATE 1 /* walks of Python threads without a thread state found */
#define SWOFFCPU_PY_CTR_FULL      2 /* Python stacks not stored: `py_stacks` full or busy */
#define SWOFFCPU_PY_CTR_NO_FRAME  3 /* thread state found, no Python frame running */
#define SWOFFCPU_PY_NCOUNTERS     4

/*
 * Timeline (--timeline, --waits, --wait-graph, --critical-path; bpf/timeline.bpf.h).
 * With it on, every interval a traced thread closes (the same intervals `enter` adds to
 * the record's ns[]) is sent through the `timeline_events` ring buffer: the slices of a
 * thread add up exactly to its record's tracepoint times. A wait's slice names what it
 * waited on (`chan`) and, when sched_waking saw it, who woke it.
 */
struct swoffcpu_tl_event {
	__u32 tid;
	__u32 tgid;
	__u64 start_ns;    /* CLOCK_MONOTONIC, as the record's */
	__u64 end_ns;
	__u64 chan;        /* blocked: the futex word; sleep: the syscall number (SWOFFCPU_TL_F_SYSCALL) */
	__u32 waker_tid;   /* the task that woke this wait (SWOFFCPU_TL_F_WAKER) */
	__u32 waker_tgid;
	__u32 state;       /* SWOFFCPU_ON_CPU..SWOFFCPU_BLOCKED */
	__u32 flags;       /* SWOFFCPU_TL_F_* */
};

#define SWOFFCPU_TL_F_WAKER    0x1 /* waker_tid/waker_tgid are set */
#define SWOFFCPU_TL_F_HARDIRQ  0x2 /* woken from a hardware interrupt (a timer, a device): the waker is not a thread */
#define SWOFFCPU_TL_F_SOFTIRQ  0x4 /* woken from a softirq, running in waker_tid's context (loopback network, timers) */
#define SWOFFCPU_TL_F_SYSCALL  0x8 /* chan is the syscall number the thread slept in */
#define SWOFFCPU_TL_F_EARLY    0x10 /* on-CPU: the wait before it ended `chan` ns earlier (wait_end_early) */

/* Index of per-CPU counters in the `timeline_counters` map. */
#define SWOFFCPU_TL_CTR_DROPPED    0 /* slices lost: ring buffer full, or --timeline-limit reached */
#define SWOFFCPU_TL_CTR_DROPPED_NS 1 /* thread time those lost slices covered */
#define SWOFFCPU_TL_NCOUNTERS      2
/* ---- Targets: --cgroup and -a (bpf/targets.bpf.h) ---------------------------------- */

/* Which tasks are traced (`target_mode`): the processes of `target_tgids` (-p, -t),
 * every task of one cgroup v2 and its descendants (--cgroup), every task (-a). */
#define SWOFFCPU_TARGET_PIDS   0
#define SWOFFCPU_TARGET_CGROUP 1
#define SWOFFCPU_TARGET_ALL    2

/* swoffcpu_thread_rec.flags, --cgroup: */
#define SWOFFCPU_F_JOINED 0x10 /* moved into the cgroup while tracing: start_ns is the move */
#define SWOFFCPU_F_LEFT   0x20 /* moved out of the cgroup: end_ns is the move, not traced after */

/* Records begun where task storage could not be created (a process moved in: task.bpf.h,
 * `acct_pending`), waiting for their task's next event; more at once are lost (counted). */
#define SWOFFCPU_PENDING_MAX 4096

#endif /* SWOFFCPU_H */
