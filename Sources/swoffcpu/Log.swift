import CSwoffcpuShims
import Glibc
import Logging
import SwoffcpuBPF

/// swoffcpu's diagnostics (swift-log): warnings always, details with -v. Errors that end
/// the run are not logged here but printed by `Diagnostics.fail` as one line.
enum Log {
    static func bootstrap(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }

    static let logger = Logger(label: "swoffcpu")
}

extension Log {
    /// Runs `body` and logs (with -v) how long it took, elapsed and in CPU, and the resident
    /// memory after it: where the time and memory between Ctrl-C and the written report go.
    static func timed<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        let start = swoffcpu_monotonic_ns(), cpuStart = threadCPUNs()
        let result = try body()
        let ms = (swoffcpu_monotonic_ns() - start) / 1_000_000, cpuMs = (threadCPUNs() - cpuStart) / 1_000_000
        let memory = memoryMB()
        logger.debug("\(what): \(ms) ms (this thread's CPU \(cpuMs) ms), resident \(memory.resident) MB, peak \(memory.peak) MB")
        return result
    }

    /// CPU time of the calling thread: unlike the elapsed time, not lengthened by other work
    /// on the machine.
    private static func threadCPUNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Resident set size and its high-water mark (VmRSS, VmHWM of /proc/self/status).
    private static func memoryMB() -> (resident: Int, peak: Int) {
        var resident = 0, peak = 0
        for line in (ProcFS.read("/proc/self/status") ?? "").split(separator: "\n") {
            let fields = line.split { $0 == " " || $0 == "\t" }
            guard fields.count >= 2, let kB = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { resident = kB >> 10 }
            if fields[0] == "VmHWM:" { peak = kB >> 10 }
        }
        return (resident, peak)
    }
}
