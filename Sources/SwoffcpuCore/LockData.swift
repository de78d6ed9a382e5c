/// The kernel's futex-wait tables as read at the end of a trace.
///
/// `waits` is exact: every futex wait of a traced thread, summed per (process, waiter,
/// futex address, op). `wakers` covers the waits whose stacks were walked (sampled like
/// stacks, `weightedNs` weighted the same way): who woke the waiter — the releaser.
public struct LockData: Sendable {
    /// Futex commands (`FUTEX_*` with the private and clock flags masked) and futex2 calls.
    public enum Op: Equatable, Hashable, Sendable {
        case wait, waitBitset, lockPI, lockPI2, waitRequeuePI, futexWait2, futexWaitv
        case other(UInt32)

        public init(raw: UInt32) {
            switch raw {
            case 0: self = .wait
            case 9: self = .waitBitset
            case 6: self = .lockPI
            case 13: self = .lockPI2
            case 11: self = .waitRequeuePI
            case 0x100: self = .futexWait2
            case 0x101: self = .futexWaitv
            default: self = .other(raw)
            }
        }

        public var name: String {
            switch self {
            case .wait: "FUTEX_WAIT"
            case .waitBitset: "FUTEX_WAIT_BITSET"
            case .lockPI: "FUTEX_LOCK_PI"
            case .lockPI2: "FUTEX_LOCK_PI2"
            case .waitRequeuePI: "FUTEX_WAIT_REQUEUE_PI"
            case .futexWait2: "futex_wait"
            case .futexWaitv: "futex_waitv"
            case .other(let raw): "futex op \(raw)"
            }
        }
    }

    public struct Wait: Equatable, Sendable {
        public var tgid: Int32
        public var tid: Int32
        public var uaddr: UInt64
        public var op: Op
        public var waitNs: UInt64
        public var waits: UInt64
        public var maxWaitNs: UInt64

        public init(tgid: Int32, tid: Int32, uaddr: UInt64, op: Op, waitNs: UInt64, waits: UInt64, maxWaitNs: UInt64) {
            self.tgid = tgid
            self.tid = tid
            self.uaddr = uaddr
            self.op = op
            self.waitNs = waitNs
            self.waits = waits
            self.maxWaitNs = maxWaitNs
        }
    }

    public struct Waker: Equatable, Sendable {
        public var tgid: Int32
        public var waiterTid: Int32
        public var uaddr: UInt64
        public var waiterUserStack: UInt64
        public var waiterKernelStack: UInt64
        public var wakerTid: Int32
        public var wakerTgid: Int32
        public var wakerUserStack: UInt64
        public var wakerKernelStack: UInt64
        public var weightedNs: UInt64
        public var wakeups: UInt64

        public init(tgid: Int32, waiterTid: Int32, uaddr: UInt64, waiterUserStack: UInt64,
                    waiterKernelStack: UInt64, wakerTid: Int32, wakerTgid: Int32, wakerUserStack: UInt64,
                    wakerKernelStack: UInt64, weightedNs: UInt64, wakeups: UInt64) {
            self.tgid = tgid
            self.waiterTid = waiterTid
            self.uaddr = uaddr
            self.waiterUserStack = waiterUserStack
            self.waiterKernelStack = waiterKernelStack
            self.wakerTid = wakerTid
            self.wakerTgid = wakerTgid
            self.wakerUserStack = wakerUserStack
            self.wakerKernelStack = wakerKernelStack
            self.weightedNs = weightedNs
            self.wakeups = wakeups
        }
    }

    public var waits: [Wait]
    public var wakers: [Waker]
    /// Futex waits not summed because `lock_waits` was full, and the blocked time they covered.
    public var waitsDropped: UInt64
    public var waitsDroppedNs: UInt64
    /// Wakeups not recorded because `lock_wakers` was full.
    public var wakersDropped: UInt64

    public init(waits: [Wait] = [], wakers: [Waker] = [], waitsDropped: UInt64 = 0,
                waitsDroppedNs: UInt64 = 0, wakersDropped: UInt64 = 0) {
        self.waits = waits
        self.wakers = wakers
        self.waitsDropped = waitsDropped
        self.waitsDroppedNs = waitsDroppedNs
        self.wakersDropped = wakersDropped
    }
}
