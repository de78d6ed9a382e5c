import Glibc

extension Clock {
    /// CLOCK_REALTIME in ns since the Unix epoch: the wall-clock time profiles are stamped with.
    public static func realtimeNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
