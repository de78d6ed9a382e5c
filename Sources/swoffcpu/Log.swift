import Logging
import SwoffcpuSystem

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
        let start = Clock.monotonicNs(), cpuStart = Clock.threadCPUNs()
        let result = try body()
        let ms = (Clock.monotonicNs() - start) / 1_000_000, cpuMs = (Clock.threadCPUNs() - cpuStart) / 1_000_000
        let memory = ProcessMemory.residentMB()
        logger.debug("\(what): \(ms) ms (this thread's CPU \(cpuMs) ms), resident \(memory.resident) MB, peak \(memory.peak) MB")
        return result
    }
}
