import SwoffcpuCore
import SwoffcpuResolve

/// Folded stacks of futex waits with their wakers, in the convention of bcc's offwaketime:
/// each line is the waiter's stack root first, a `--` frame, then the waker's (releaser's)
/// stack leaf first, so that a flame graph draws the waker upside down on top of the waiter.
///
///     blocked;mutex g_hot_lock;start_thread;hot_worker;pthread_mutex_lock;__lll_lock_wait;
///     futex_wait_queue_[k];…;--;try_to_wake_up_[k];…;__lll_lock_wake;pthread_mutex_unlock;
///     hot_critical_section;hot_worker;start_thread;hot1 1234
///
/// Frames: `blocked`; `KIND LOCKNAME`; with `includeThread` the waiter's `comm-TID`; the waiter's
/// user frames (outermost to leaf), its kernel frames (outermost to leaf, `_[k]`); `--`; the
/// waker's kernel frames (leaf to outermost, `_[k]`), its user frames (leaf to outermost); the
/// waker's `comm` (`comm-TID` with `includeThread`), or `[timeout]` for a timer's wakeup.
/// Values: the wait the wakeups ended, weighted by the stack sampling (exact with --all-stacks),
/// in `unit` (µs by default), rounded once per line; lines sorted by their bytes.
public struct WakerFolded: Sendable {
    public var includeThread: Bool
    public var unit: FoldedTimeUnit

    public init(includeThread: Bool = false, unit: FoldedTimeUnit = .microseconds) {
        self.includeThread = includeThread
        self.unit = unit
    }

    public static let separator = "--"

    /// The frames of one wakeup, root first, sanitized.
    public func frames(_ w: LockReport.Wakeup, lock: LockReport.Lock) -> [String] {
        var f = ["blocked", FoldedWriter.sanitize(frame: "\(lock.kind.token) \(lock.name)")]
        if includeThread { f.append(FoldedWriter.sanitize(frame: "\(w.waiter.comm)-\(w.waiter.tid)")) }
        f += w.waiterUserFrames.reversed().map { FoldedWriter.sanitize(frame: $0) }
        f += w.waiterKernelFrames.reversed().map(kernel)
        f.append(Self.separator)
        f += w.wakerKernelFrames.map(kernel)
        f += w.wakerUserFrames.map { FoldedWriter.sanitize(frame: $0) }
        if LockReport.isTimerWakeup(w.wakerKernelFrames) {
            f.append(LockReport.Thread.timeoutComm)
        } else {
            let comm = w.waker.comm.isEmpty ? "tid" : w.waker.comm
            f.append(FoldedWriter.sanitize(frame: includeThread || w.waker.comm.isEmpty ? "\(comm)-\(w.waker.tid)" : comm))
        }
        return f
    }

    private func kernel(_ frame: String) -> String {
        let name = FoldedWriter.sanitize(frame: frame)
        return name.hasSuffix(FoldedWriter.kernelSuffix) ? name : name + FoldedWriter.kernelSuffix
    }

    /// Merges equal lines, rounds each once, drops those that round to zero, sorts.
    public func fold(_ report: LockReport) -> FoldedResult {
        var lines = FoldedLines()
        var summary = FoldedSummary()
        for lock in report.all {
            for w in lock.wakeups {
                summary.samples += 1
                summary.totalNs = summary.totalNs.addingOrMax(w.weightedNs)
                lines.add(names: frames(w, lock: lock), ns: w.weightedNs)
            }
        }
        return lines.result(summary: summary, unit: unit)
    }

    public func render(_ report: LockReport) -> String { fold(report).text }
}
