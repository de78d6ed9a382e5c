import SwoffcpuCore

/// What the report says of Python processes beyond their frames: each thread's waits for the
/// GIL (a part of its blocked time, exact: from the lock table), the GIL named in the lock
/// report, and the program's own locks named by the Python line that waits on them.
public enum PythonReport {
    public static func annotate(_ trace: inout ResolvedTrace, python: [Int32: PythonCode]) {
        guard !python.isEmpty else { return }
        // Of blocked: futex waits whose word lies in the interpreter's GIL struct.
        var gil: [Int32: UInt64] = [:]
        for w in trace.report.locks?.waits ?? [] {
            guard let code = python[w.tgid], code.target.gilRange.contains(w.uaddr) else { continue }
            gil[w.tid, default: 0] += w.waitNs
        }
        for p in trace.report.processes.indices {
            guard let code = python[trace.report.processes[p].pid] else { continue }
            let names = code.threadNames()
            for t in trace.report.processes[p].threads.indices {
                let tid = trace.report.processes[p].threads[t].tid
                trace.report.processes[p].threads[t].gilWaitNs = min(gil[tid] ?? 0, trace.report.processes[p].threads[t].times.blocked)
                trace.report.processes[p].threads[t].pythonName = names[tid]
            }
        }
        guard var locks = trace.locks else { return }
        for i in locks.contended.indices { name(&locks.contended[i], python) }
        for i in locks.idle.indices { name(&locks.idle[i], python) }
        trace.locks = locks
    }

    static func name(_ lock: inout LockReport.Lock, _ python: [Int32: PythonCode]) {
        guard let code = python[lock.tgid] else { return }
        let range = code.target.gilRange
        if range.contains(lock.uaddr) {
            lock.name = "Python GIL: \(lock.name)"
            return
        }
        guard let stack = lock.waiterStacks.first, let named = pythonLockName(userFrames: stack.userFrames) else { return }
        lock.name = "\(named) (\(lock.name))"
    }

    /// A Python frame as PythonCode names it: `module.qualname (file.py:line)`.
    static func isPythonFrame(_ f: String) -> Bool {
        f.hasSuffix(")") && f.contains(".py:") && f.contains(" (")
    }

    /// The library functions through which a program waits on a lock of its own.
    static let waitingLibraries: [(prefix: String, kind: String)] = [
        ("threading.Condition.wait", "threading.Condition"),
        ("threading.Event.wait", "threading.Event"),
        ("threading.Semaphore.acquire", "threading.Semaphore"),
        ("threading.BoundedSemaphore.acquire", "threading.Semaphore"),
        ("threading.Barrier.wait", "threading.Barrier"),
        ("threading.Thread.join", "threading.Thread.join"),
        ("threading.Thread._wait_for_tstate_lock", "threading.Thread.join"),
        ("queue.Queue.get", "queue.Queue.get"),
        ("queue.Queue.put", "queue.Queue.put"),
        ("_base.Future.result", "concurrent.futures.Future.result"),
        ("_base.wait", "concurrent.futures.wait"),
    ]

    /// `threading.Lock at py_waits.take_lock (py_waits.py:24)` for a waiter's user frames (leaf
    /// first), or nil when it does not wait from Python. The kind is the outermost library
    /// function it waits in (queue.Queue.get → Condition.wait → the lock: `queue.Queue.get`),
    /// else `threading.RLock` or `threading.Lock` by the interpreter's acquire; the line is the
    /// innermost Python frame outside those libraries.
    static func pythonLockName(userFrames: [String]) -> String? {
        let py = userFrames.filter(isPythonFrame)
        guard let innermost = py.first else { return nil }
        var kind: String?
        var caller = innermost
        for f in py {
            if let lib = waitingLibraries.first(where: { f.hasPrefix($0.prefix + " (") }) {
                kind = lib.kind
                continue
            }
            if f.hasPrefix("threading.") || f.hasPrefix("queue.") || f.hasPrefix("_base.") {
                continue // the library's own helpers (Condition.__enter__, _wait_for_tstate_lock…)
            }
            caller = f
            break
        }
        if kind == nil {
            if userFrames.contains(where: { $0.hasPrefix("rlock_acquire") }) { kind = "threading.RLock" }
            else if userFrames.contains(where: { $0.hasPrefix("PyThread_acquire_lock") || $0.hasPrefix("lock_PyThread_acquire_lock") || $0.hasPrefix("acquire_timed") || $0.hasPrefix("_PyMutex_LockTimed") || $0.hasPrefix("PyThread_acquire_lock_timed") }) {
                kind = "threading.Lock"
            } else {
                return nil
            }
        }
        return "\(kind!) at \(caller)"
    }
}
