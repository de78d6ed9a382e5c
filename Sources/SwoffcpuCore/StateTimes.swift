/// Nanoseconds spent in each `ThreadState`.
public struct StateTimes: Equatable, Hashable, Sendable {
    public var onCPU: UInt64 = 0
    public var runnable: UInt64 = 0
    public var sleepInterruptible: UInt64 = 0
    public var sleepUninterruptible: UInt64 = 0
    public var blocked: UInt64 = 0

    public init() {}

    public init(onCPU: UInt64 = 0, runnable: UInt64 = 0, sleepInterruptible: UInt64 = 0,
                sleepUninterruptible: UInt64 = 0, blocked: UInt64 = 0) {
        self.onCPU = onCPU
        self.runnable = runnable
        self.sleepInterruptible = sleepInterruptible
        self.sleepUninterruptible = sleepUninterruptible
        self.blocked = blocked
    }

    /// Builds from an array indexed by `ThreadState.rawValue` (the kernel record's layout).
    public init(indexed ns: [UInt64]) {
        for state in ThreadState.allCases where state.rawValue < ns.count {
            self[state] = ns[state.rawValue]
        }
    }

    public subscript(state: ThreadState) -> UInt64 {
        get {
            switch state {
            case .onCPU: onCPU
            case .runnable: runnable
            case .sleep: sleepInterruptible
            case .sleepUninterruptible: sleepUninterruptible
            case .blocked: blocked
            }
        }
        set {
            switch state {
            case .onCPU: onCPU = newValue
            case .runnable: runnable = newValue
            case .sleep: sleepInterruptible = newValue
            case .sleepUninterruptible: sleepUninterruptible = newValue
            case .blocked: blocked = newValue
            }
        }
    }

    /// The report's "sleep" column: interruptible and uninterruptible sleep together.
    public var sleep: UInt64 { sleepInterruptible + sleepUninterruptible }
    /// Everything but on-CPU.
    public var offCPU: UInt64 { runnable + sleep + blocked }
    /// All states: equals the thread's time in the window.
    public var total: UInt64 { onCPU + offCPU }

    public static func + (lhs: StateTimes, rhs: StateTimes) -> StateTimes {
        var sum = lhs
        sum += rhs
        return sum
    }

    public static func += (lhs: inout StateTimes, rhs: StateTimes) {
        for state in ThreadState.allCases { lhs[state] += rhs[state] }
    }
}
