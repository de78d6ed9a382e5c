import CSwoffcpuSystem

/// SIGINT, SIGTERM and SIGHUP as a request to stop: the trace ends and the report and every
/// file are still written. The handler only sets a flag (async-signal-safe, in C).
public enum StopSignals {
    /// Installs the handlers. First of all: a stop signal while the programs load (a second or
    /// two on a busy machine) must end the trace as soon as it starts, not be lost.
    public static func install() {
        swoffcpu_install_stop_signals()
    }

    /// The signal that asked to stop, if one did.
    public static var received: Int32? {
        let sig = swoffcpu_stop_signal()
        return sig == 0 ? nil : sig
    }
}
