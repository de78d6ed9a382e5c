import Foundation
import SwoffcpuBPF
import SwoffcpuSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Ground truth from /proc, read the way procfs wants to be read: open, read(2)
/// in a loop until EOF, close. (Never `String(contentsOfFile:)`: it may stat the
/// file, see size 0 and return a truncated or empty string.)
enum Procfs {
    /// The machine's steal time over all CPUs (/proc/stat's 8th `cpu` field), in ns.
    static func machineStealNs() -> UInt64? {
        guard let stat = try? readString("/proc/stat"),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count > 8, let ticks = UInt64(fields[8]) else { return nil }
        return ticks * clockTickNs
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Whole file, read with a read(2) loop (the tracer's own reader).
    static func read(_ path: String) throws -> [UInt8] {
        switch ProcFS.readBytes(path) {
        case .success(let bytes): return bytes
        case .failure(let error): throw Failure(description: error.description)
        }
    }

    static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// /proc/PID/task/TID/schedstat: on-CPU ns, run-queue wait ns, timeslices
    /// (times it was switched in). Kernel side: se.sum_exec_runtime (updated at
    /// ticks and switches), sched_info.run_delay (updated when a queued task is
    /// switched in: a wait in progress is not counted yet), sched_info.pcount.
    struct Schedstat: Equatable, Sendable {
        var onCPU: UInt64
        var runDelay: UInt64
        var slices: UInt64

        static func - (a: Schedstat, b: Schedstat) -> Schedstat {
            Schedstat(onCPU: a.onCPU &- b.onCPU, runDelay: a.runDelay &- b.runDelay, slices: a.slices &- b.slices)
        }
    }

    static func schedstat(pid: Int32, tid: Int32) throws -> Schedstat {
        let path = "/proc/\(pid)/task/\(tid)/schedstat"
        let fields = try readString(path).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 3, let on = UInt64(fields[0]), let wait = UInt64(fields[1]),
              let slices = UInt64(fields[2]) else {
            throw Failure(description: "unexpected \(path): \(fields)")
        }
        return Schedstat(onCPU: on, runDelay: wait, slices: slices)
    }

    /// Context switches of a thread from /proc/PID/task/TID/status: voluntary
    /// (it blocked or slept: each needs a wakeup) and involuntary (preempted).
    struct ContextSwitches: Equatable, Sendable {
        var voluntary: UInt64
        var involuntary: UInt64
        var total: UInt64 { voluntary + involuntary }

        static func - (a: ContextSwitches, b: ContextSwitches) -> ContextSwitches {
            ContextSwitches(voluntary: a.voluntary &- b.voluntary, involuntary: a.involuntary &- b.involuntary)
        }
    }

    static func contextSwitches(pid: Int32, tid: Int32) throws -> ContextSwitches {
        let text = try readString("/proc/\(pid)/task/\(tid)/status")
        var v: UInt64?, n: UInt64?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = UInt64(parts[1].trimmingCharacters(in: .whitespaces))
            if parts[0] == "voluntary_ctxt_switches" { v = value }
            if parts[0] == "nonvoluntary_ctxt_switches" { n = value }
        }
        guard let v, let n else { throw Failure(description: "no ctxt_switches in status of \(pid)/\(tid)") }
        return ContextSwitches(voluntary: v, involuntary: n)
    }

    /// The fields of /proc/PID/task/TID/stat after "(comm)": index 0 is the state letter.
    static func statFields(pid: Int32, tid: Int32) throws -> [Substring] {
        let text = try readString("/proc/\(pid)/task/\(tid)/stat")
        guard let close = text.lastIndex(of: ")") else {
            throw Failure(description: "unexpected stat of \(pid)/\(tid): \(text)")
        }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// The task's state letter: R, S, D, T, Z, ...
    static func state(pid: Int32, tid: Int32) -> Character? {
        guard let f = try? statFields(pid: pid, tid: tid), let s = f.first?.first else { return nil }
        return s
    }

    /// utime + stime of the whole process (live and dead threads), in ns.
    /// Tick-sampled but scaled by the kernel to the exact total runtime, so good
    /// to one clock tick (1/sysconf(_SC_CLK_TCK) s) per field.
    static func processCPUTime(pid: Int32) throws -> UInt64 {
        let text = try readString("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { throw Failure(description: "unexpected /proc/\(pid)/stat") }
        let f = text[text.index(after: close)...].split(separator: " ")
        // After "(comm)": state is field 3 of stat(5), utime 14, stime 15.
        guard f.count > 12, let ut = UInt64(f[11]), let st = UInt64(f[12]) else {
            throw Failure(description: "unexpected /proc/\(pid)/stat: \(text)")
        }
        let hz = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        return (ut + st) * 1_000_000_000 / hz
    }

    /// Nanoseconds of one clock tick of /proc/PID/stat times.
    static var clockTickNs: UInt64 { 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK))) }

    /// The threads of a process: TID and comm, from /proc/PID/task/*/comm.
    static func threads(pid: Int32) -> [(tid: Int32, comm: String)] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var out: [(tid: Int32, comm: String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard let tid = Int32(name) else { continue }
            guard let comm = try? readString("/proc/\(pid)/task/\(tid)/comm") else { continue }
            out.append((tid, comm.trimmingSuffix("\n")))
        }
        return out.sorted { $0.tid < $1.tid }
    }

    /// CLOCK_MONOTONIC now, ns: the clock of the tracer's timestamps (bpf_ktime_get_ns).
    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
