import Glibc

/// The clocks swoffcpu reads.
public enum Clock {
    /// CLOCK_MONOTONIC in ns: the clock of the BPF programs' `bpf_ktime_get_ns`, so user-space
    /// instants (the window's end, deadlines) compare with the kernel side's.
    public static func monotonicNs() -> UInt64 {
        read(CLOCK_MONOTONIC)
    }

    /// CPU time of the calling thread: unlike the elapsed time, not lengthened by other work on
    /// the machine.
    public static func threadCPUNs() -> UInt64 {
        read(CLOCK_THREAD_CPUTIME_ID)
    }

    /// Sleeps up to `ns`; a signal (a stop request) cuts it short.
    public static func nap(ns: UInt64) {
        var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
        nanosleep(&ts, nil)
    }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
