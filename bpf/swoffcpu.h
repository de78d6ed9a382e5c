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
#define SWOFFCPU_NCOUNTERS          13

/* ---- Targets: --cgroup and -a (bpf/targets.bpf.h) ---------------------------------- */

/* Which tasks are traced (`target_mode`): the processes of `target_tgids` (-p, -t),
 * every task of one cgroup v2 and its descendants (--cgroup), every task (-a). */
#define SWOFFCPU_TARGET_PIDS   0
#define SWOFFCPU_TARGET_CGROUP 1
#define SWOFFCPU_TARGET_ALL    2

/* swoffcpu_thread_rec.flags, --cgroup: */
#define SWOFFCPU_F_JOINED 0x10 /* moved into the cgroup while tracing: start_ns is the move */
#define SWOFFCPU_F_LEFT   0x20 /* moved out of the cgroup: end_ns is the move, not traced after */

#endif /* SWOFFCPU_H */
