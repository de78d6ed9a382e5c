import SwoffcpuCore

/// What a futex wait was for, from the futex op and the waiter's user frames (docs/locks.md).
///
/// Mutexes and rwlocks are *contention*: a thread wanted to run and another held what it
/// needed. Condition variables, semaphores, barriers and joins are *idle waits*: the thread
/// waits for work or for another thread to reach a point; the report keeps them apart.
public enum LockKind: String, Sendable, CaseIterable, Hashable {
    case mutex = "mutex"
    case mutexPI = "mutex (PI)"
    case rwlock = "rwlock"
    case condvar = "condvar"
    case condvarPI = "condvar (PI)"
    case semaphore = "semaphore"
    case barrier = "barrier"
    case join = "join"
    /// A futex the stack explains, but through no primitive known here (a custom lock,
    /// a runtime's own futex use, C++20 atomic waits).
    case otherFutex = "other futex"
    /// No waiter stack, or one whose frames between the futex system call and the
    /// application were lost (see `LockClassifier`).
    case unknown = "unknown"

    /// As printed in the text report.
    public var name: String { rawValue }

    /// As written in JSON and folded files: lower case, no spaces.
    public var token: String {
        switch self {
        case .mutex: "mutex"
        case .mutexPI: "mutex_pi"
        case .rwlock: "rwlock"
        case .condvar: "condvar"
        case .condvarPI: "condvar_pi"
        case .semaphore: "semaphore"
        case .barrier: "barrier"
        case .join: "join"
        case .otherFutex: "other_futex"
        case .unknown: "unknown"
        }
    }

    /// Waiting for work or for another thread, not for a lock: listed under idle waits.
    public var isIdle: Bool {
        switch self {
        case .condvar, .condvarPI, .semaphore, .barrier, .join: true
        case .mutex, .mutexPI, .rwlock, .otherFutex, .unknown: false
        }
    }
}

/// The rules that turn a futex op, a waiter's user frames and its waker's frames into a
/// `LockKind` (docs/locks.md).
///
/// 1. The op first: `FUTEX_LOCK_PI`/`FUTEX_LOCK_PI2` is a priority-inheritance mutex,
///    `FUTEX_WAIT_REQUEUE_PI` a PI condition variable, whatever the frames say.
/// 2. The exact leaves: the waiter's innermost frame (its instruction pointer at the system
///    call, e.g. `__lll_lock_wait`: mutex), then the waker's (`sem_post`, `pthread_cond_signal`,
///    `__lll_lock_wake`, `pthread_rwlock_unlock`…; a thread exit waking a joiner shows
///    `mm_release` in the waker's kernel stack). Leaves come from registers, so they are
///    exact; the frames above a leaf inside glibc are recovered by unwinding and may be
///    another wait's when two waits share a frame-pointer stack (see docs/locks.md).
/// 3. Otherwise the waiter's user frames, leaf first: the first frame that names a primitive
///    decides (`frameKind`). Innermost first, because a primitive may call another:
///    `pthread_cond_wait` re-locks its mutex through `__pthread_mutex_cond_lock`, and a wait
///    there is a wait on the mutex (its futex address is the mutex's).
/// 4. No frame names a primitive: `unknown` when there are no named frames (no stack, a marker
///    such as "[user stack: waiting since before the trace]", only unresolved addresses), or when the stack shows
///    glibc's internal futex wrappers (`__futex_abstimed_wait_common*`, an unresolved
///    `libc.so.6+0x…`) without the glibc function that called them — a frame-pointer walk
///    through glibc (built without frame pointers) loses exactly those; `other futex` when the
///    stack is whole and still names nothing known (a program's own futex, `syscall(SYS_futex)`).
public enum LockClassifier {
    public static func kind(op: LockData.Op, userFrames: [String]) -> LockKind {
        kind(op: op, waiterUserFrames: userFrames)
    }

    /// All the rules, for one wakeup (waiter and waker frames leaf first; empty when unknown).
    public static func kind(op: LockData.Op, waiterUserFrames: [String], wakerUserFrames: [String] = [],
                            wakerKernelFrames: [String] = []) -> LockKind {
        if let k = kind(op: op) { return k }
        if let leaf = waiterUserFrames.first, let k = frameKind(leaf) { return k }
        if let k = wakerKind(userFrames: wakerUserFrames, kernelFrames: wakerKernelFrames) { return k }
        return kind(userFrames: waiterUserFrames)
    }

    /// What the waker's leaf says: the function that woke the waiter (it released the lock,
    /// posted the semaphore, signalled the condition variable), or a thread exit (join).
    public static func wakerKind(userFrames: [String], kernelFrames: [String]) -> LockKind? {
        // A timer's wakeup runs in whatever thread the interrupt hit: its frames say nothing.
        if LockReport.isTimerWakeup(kernelFrames) { return nil }
        if kernelFrames.contains(where: { $0 == "mm_release" || $0 == "exit_mm_release" || $0 == "futex_exit_release" }) {
            return .join
        }
        guard let leaf = userFrames.first else { return nil }
        var name = Substring(leaf)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        let bare = name.drop { $0 == "_" }
        for (prefix, kind) in wakerPrefixes where bare.hasPrefix(prefix) { return kind }
        return frameKind(leaf)
    }

    private static let wakerPrefixes: [(String, LockKind)] = [
        ("lll_lock_wake", .mutex),           // __lll_lock_wake, __lll_lock_wake_private
        ("new_sem_post", .semaphore),
        ("sem_post", .semaphore),
    ]

    /// The kind the op alone decides (PI futexes), else nil.
    public static func kind(op: LockData.Op) -> LockKind? {
        switch op {
        case .lockPI, .lockPI2: .mutexPI
        case .waitRequeuePI: .condvarPI
        default: nil
        }
    }

    /// Rules 2 and 3: from user frames, leaf first.
    public static func kind(userFrames: [String]) -> LockKind {
        // Bracketed names are no function: markers ("[lost: …]", "[user stack: waiting since
        // before the trace]") and unresolved addresses ("[unknown]+0x…", "[anon]+0x…").
        let named = userFrames.filter { !$0.hasPrefix("[") }
        var sawPlumbing = false
        for frame in named {
            if let k = frameKind(frame) { return k }
            if isLibcFutexPlumbing(frame) { sawPlumbing = true }
        }
        if named.isEmpty || sawPlumbing { return .unknown }
        return .otherFutex
    }

    /// The primitive one frame names, if any. Names are compared without leading
    /// underscores and without a symbol version (`@GLIBC_2.3.2`).
    public static func frameKind(_ frame: String) -> LockKind? {
        var name = Substring(frame)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        let bare = name.drop { $0 == "_" }
        // glibc (nptl): the public functions and the internal ones they call.
        for (prefix, kind) in glibcPrefixes where bare.hasPrefix(prefix) {
            // pthread_mutex_unlock / pthread_cond_signal do not wait on their own object,
            // but they may on an internal lock (__condvar_acquire_lock): the kind stands.
            return kind
        }
        // Other runtimes: substrings of demangled names.
        for (needle, kind) in runtimeSubstrings where containsBytes(name.utf8, needle) {
            return kind
        }
        return nil
    }

    /// Whether `needle`'s UTF-8 occurs in `text`, compared as bytes: the standard `contains`
    /// compares Characters, and classifying the wakeups of 10,000 threads took seconds with it.
    private static func containsBytes(_ text: Substring.UTF8View, _ needle: [UInt8]) -> Bool {
        guard needle.count <= text.count, let first = needle.first else { return needle.isEmpty }
        var i = text.startIndex
        let last = text.index(text.endIndex, offsetBy: -needle.count)
        while i <= last {
            if text[i] == first && text[i...].starts(with: needle) { return true }
            i = text.index(after: i)
        }
        return false
    }

    private static let glibcPrefixes: [(String, LockKind)] = [
        ("pthread_mutex_", .mutex),          // lock, timedlock, clocklock, cond_lock, lock_full
        ("lll_lock_wait", .mutex),           // __lll_lock_wait, __lll_lock_wait_private
        ("lll_clocklock", .mutex),
        ("lll_timedlock", .mutex),
        ("lll_robust", .mutex),
        ("mutex_lock_full", .mutex),
        ("pthread_rwlock_", .rwlock),        // rdlock, wrlock, timed*, clock*, *_full64
        ("pthread_cond_", .condvar),         // wait, timedwait, clockwait, __pthread_cond_wait_common
        ("condvar_", .condvar),              // __condvar_acquire_lock, __condvar_quiesce_and_switch_g1
        ("new_sem_wait", .semaphore),        // __new_sem_wait_slow64
        ("old_sem_wait", .semaphore),
        ("sem_wait", .semaphore),
        ("sem_timedwait", .semaphore),
        ("sem_clockwait", .semaphore),
        ("do_futex_wait", .semaphore),       // static in glibc's sem_waitcommon.c
        ("pthread_barrier_wait", .barrier),
        ("pthread_join", .join),
        ("pthread_clockjoin", .join),        // pthread_clockjoin_np, __pthread_clockjoin_ex
        ("pthread_timedjoin", .join),
    ]

    private static let runtimeSubstringNames: [(String, LockKind)] = [
        // Rust std (futex-based since 1.62): sys::sync::{mutex,rwlock,condvar}::futex.
        ("futex::Mutex::lock_contended", .mutex),
        ("futex_mutex::Mutex::lock_contended", .mutex),
        ("futex::RwLock::read_contended", .rwlock),
        ("futex::RwLock::write_contended", .rwlock),
        ("futex_rwlock::RwLock::", .rwlock),
        ("futex::Condvar::wait", .condvar),
        ("futex_condvar::Condvar::wait", .condvar),
        // libstdc++ C++20 waits that use the futex directly.
        ("counting_semaphore", .semaphore),
        ("__atomic_semaphore", .semaphore),
        ("std::latch::", .barrier),
        ("std::barrier<", .barrier),
        // Go runtime: runtime mutexes, and the notes idle Ms sleep on.
        ("runtime.lock2", .mutex),
        ("runtime.notesleep", .semaphore),
        ("runtime.notetsleep", .semaphore),
        // libdispatch (Swift on Linux).
        ("_dispatch_unfair_lock_lock_slow", .mutex),
        ("_dispatch_sema4_wait", .semaphore),
        ("_dispatch_sema4_timedwait", .semaphore),
        ("_dispatch_thread_event_wait_slow", .semaphore),
    ]

    /// The same as UTF-8 bytes, searched as bytes.
    private static let runtimeSubstrings = runtimeSubstringNames.map { (Array($0.0.utf8), $0.1) }

    /// glibc's generic futex wrappers (called only by glibc's primitives), or a libc frame the
    /// symbolizer could not name: seeing one without the primitive above it means frames were lost.
    public static func isLibcFutexPlumbing(_ frame: String) -> Bool {
        let bare = frame.drop { $0 == "_" }
        if bare.hasPrefix("futex_abstimed_wait") || bare.hasPrefix("futex_wait") || bare.hasPrefix("GI___futex") {
            return true
        }
        return (frame.hasPrefix("libc.so") || frame.hasPrefix("libpthread")) && frame.contains("+0x")
    }
}
