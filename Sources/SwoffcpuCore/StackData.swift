/// The kernel's stack tables as read at the end of a trace, before attribution.
///
/// Stack walks are sampled (see bpf/swoffcpu.bpf.c): each walked off-CPU interval
/// counts `weight` times in `weightedNs`, so per stack the sums are unbiased
/// estimates. `StackAttribution` rescales them to the exact per-state totals.
public struct StackData: Sendable {
    /// Special stack ids (`SWOFFCPU_STACK_*`): not a hash of frames.
    public enum Marker: UInt64, Sendable {
        /// Not walked (that side's walks are disabled), or an empty stack (kernel thread).
        case none = 0
        /// The walk failed (bpf_get_stack returned an error).
        case walkFailed = 1
        /// Walked, but the `stacks` map was full.
        case mapFull = 2
        /// The thread was off-CPU since before the trace: its user stack could not be read.
        case beforeTrace = 3
        /// Walked, but not stored: the kernel's allocation cache was empty, or the map busy.
        case notStored = 4
    }

    /// Time of one (thread, state, user stack, kernel stack).
    public struct Entry: Equatable, Sendable {
        public var tid: Int32
        public var state: ThreadState
        public var userStack: UInt64
        public var kernelStack: UInt64
        public var weightedNs: UInt64
        public var intervals: UInt64

        public init(tid: Int32, state: ThreadState, userStack: UInt64, kernelStack: UInt64,
                    weightedNs: UInt64, intervals: UInt64) {
            self.tid = tid
            self.state = state
            self.userStack = userStack
            self.kernelStack = kernelStack
            self.weightedNs = weightedNs
            self.intervals = intervals
        }
    }

    /// Registers and top of the user stack where a user stack was first walked: what a
    /// frame-pointer walk misses between the leaf and the first frame-pointer frame is
    /// recovered from it (see bpf/swoffcpu.h, `swoffcpu_user_leaf`).
    public struct UserLeaf: Equatable, Sendable {
        public var ip: UInt64
        public var sp: UInt64
        public var bp: UInt64
        /// User stack bytes from `sp` up.
        public var stack: [UInt8]

        public init(ip: UInt64, sp: UInt64, bp: UInt64, stack: [UInt8]) {
            self.ip = ip
            self.sp = sp
            self.bp = bp
            self.stack = stack
        }

        /// As kept in `userLeafWords`: ip, sp, bp, the stack's length in bytes, then its bytes
        /// in words (the last one padded with zeros).
        public var words: [UInt64] {
            var words = [ip, sp, bp, UInt64(stack.count)] + Array(repeating: 0, count: (stack.count + 7) / 8)
            words.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: 32).copyMemory(from: stack, byteCount: stack.count) }
            return words
        }
    }

    public var entries: [Entry]
    /// Leaf contexts by user stack id (see `UserLeaf.words`, and `userLeaf(_:)`).
    public var userLeafWords = WordRuns()
    /// Frames of each stored stack, leaf first.
    public var userFrames: WordRuns
    public var kernelFrames: WordRuns
    /// Switch-outs of traced threads, and how many of them were walked.
    public var switchOuts: UInt64
    public var walks: UInt64
    /// Stacks not stored because their map was full; or because an allocation failed
    /// or the map was busy; intervals not summed because `stack_time` was full.
    public var stacksDropped: UInt64
    public var stacksNotStored: UInt64
    public var stackTimeDropped: UInt64
    /// The sampling: 1 in `walkOneIn` switch-outs within `walkPeriodNs` of a thread's last walk.
    public var walkOneIn: UInt32
    public var walkPeriodNs: UInt64
    public var userStacks: Bool
    public var kernelStacks: Bool
    /// Python frame chains by user stack id (bpf/python.bpf.h), for stacks of Python threads.
    public var pythonStacks: [UInt64: PythonRawStack] = [:]
    /// On-CPU stacks sampled this many times a second per CPU (entries of state `onCPU`,
    /// weighted by the samples' periods); 0: not sampled, no on-CPU entries.
    public var onCPUHz: UInt32 = 0

    public init(entries: [Entry] = [], userFrames: WordRuns = WordRuns(),
                kernelFrames: WordRuns = WordRuns(), switchOuts: UInt64 = 0,
                walks: UInt64 = 0, stacksDropped: UInt64 = 0, stacksNotStored: UInt64 = 0,
                stackTimeDropped: UInt64 = 0,
                walkOneIn: UInt32 = 1, walkPeriodNs: UInt64 = 0, userStacks: Bool = true,
                kernelStacks: Bool = true) {
        self.entries = entries
        self.userFrames = userFrames
        self.kernelFrames = kernelFrames
        self.switchOuts = switchOuts
        self.walks = walks
        self.stacksDropped = stacksDropped
        self.stacksNotStored = stacksNotStored
        self.stackTimeDropped = stackTimeDropped
        self.walkOneIn = walkOneIn
        self.walkPeriodNs = walkPeriodNs
        self.userStacks = userStacks
        self.kernelStacks = kernelStacks
    }

    /// Whether every switch-out was walked (exact stacks), or only a sample.
    public var isSampled: Bool { walkOneIn > 1 }

    /// The leaf context of a user stack id, if one was kept.
    public func userLeaf(_ id: UInt64) -> UserLeaf? {
        withUserLeaf(id) { UserLeaf(ip: $0, sp: $1, bp: $2, stack: Array($3)) }
    }

    /// `body` with the leaf context of a user stack id, its stack bytes not copied; nil if none
    /// was kept.
    @inlinable
    public func withUserLeaf<R>(_ id: UInt64, _ body: (_ ip: UInt64, _ sp: UInt64, _ bp: UInt64,
                                                    _ stack: UnsafeRawBufferPointer) -> R) -> R? {
        userLeafWords.withRun(id) { words in
            let raw = UnsafeRawBufferPointer(words)
            let count = min(Int(raw.load(fromByteOffset: 24, as: UInt64.self)), raw.count - 32)
            return body(raw.load(as: UInt64.self), raw.load(fromByteOffset: 8, as: UInt64.self),
                        raw.load(fromByteOffset: 16, as: UInt64.self), UnsafeRawBufferPointer(rebasing: raw[32..<(32 + count)]))
        }
    }

    /// The stack pointer of a user stack id's leaf context (without copying its stack).
    public func userLeafStackPointer(_ id: UInt64) -> UInt64? {
        userLeafWords.withRun(id) { $0[1] }
    }

    /// Frees the entries, frames and leaf contexts, keeping the counters and the sampling: for
    /// when the stacks have been attributed and symbolized.
    public mutating func releaseStacks() {
        entries = []
        userLeafWords = WordRuns()
        userFrames = WordRuns()
        kernelFrames = WordRuns()
        pythonStacks = [:]
    }
}
