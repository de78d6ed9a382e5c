import Foundation

/// Work split over threads, for the stop on two CPUs: the report files are built and synced
/// each on a thread of its own (one file's fsync waits while another is built), and the stacks'
/// attribution runs beside their symbolization.
public enum Concurrently {
    /// Runs `jobs` each on a thread of its own and `main` on the calling thread, waits for them
    /// all, then throws the first error (`main`'s, then the jobs' in order).
    public static func run(_ jobs: [@Sendable () throws -> Void], main: () throws -> Void) throws {
        let errors = jobs.map { _ in Slot<any Error>() }
        let done = DispatchGroup()
        for (job, error) in zip(jobs, errors) {
            start(in: done) {
                do { try job() } catch let e { error.value = e }
            }
        }
        let mainResult = Result { try main() }
        done.wait()
        try mainResult.get()
        if let error = errors.lazy.compactMap(\.value).first { throw error }
    }

    /// `other` on a thread of its own while `main` runs on the calling thread: both results.
    public static func both<A: Sendable, B>(_ other: @escaping @Sendable () -> A, _ main: () -> B) -> (A, B) {
        let result = Slot<A>()
        let done = DispatchGroup()
        start(in: done) { result.value = other() }
        let b = main()
        done.wait()
        return (result.value!, b)
    }

    /// `work(i)` for each i in `0..<count`, on up to `threads` threads (the calling one among
    /// them), each taking the next index when it is done: for jobs that wait (downloads) more
    /// than they compute. Returns when every index is done.
    public static func forEach(_ count: Int, threads: Int, _ work: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Counter()
        let worker: @Sendable () -> Void = {
            while let i = next.take(below: count) { work(i) }
        }
        let done = DispatchGroup()
        for _ in 1..<max(1, min(threads, count)) { start(in: done, worker) }
        worker()
        done.wait()
    }

    /// `work(i)` for each i in `0..<count`, on up to `threads` threads (the calling one among
    /// them), each taking the next `chunk` indices when it is done: the results in index order.
    /// `chunk` 1 for jobs that wait (downloads), `count / threads` for computing of even cost
    /// per index (100,000 stacks' addresses), where taking an index each would cost a lock each.
    public static func map<T: Sendable>(_ count: Int, threads: Int, chunk: Int = 1,
                                        _ work: @escaping @Sendable (Int) -> T) -> [T] {
        let slots = Slots<T>(count)
        let size = max(1, chunk)
        forEach((count + size - 1) / size, threads: threads) { c in
            for i in (c * size)..<min(count, (c + 1) * size) { slots.set(i, work(i)) }
        }
        return slots.values()
    }

    /// `work(i)` for each i in `0..<count` on `threads` threads of their own, `chunk` indices at
    /// a time, while the calling thread hands each result to `consume` in index order as soon
    /// as its chunk is done: a serial step after a parallel one (naming 100,000 resolved stacks
    /// into one table) overlaps it instead of waiting for all of it.
    public static func pipeline<T: Sendable>(_ count: Int, threads: Int, chunk: Int,
                                             _ work: @escaping @Sendable (Int) -> T, consume: (Int, T) -> Void) {
        guard count > 0 else { return }
        let size = max(1, chunk), chunks = (count + size - 1) / size
        let slots = Slots<T>(count), next = Counter(), finished = Finished(chunks)
        let done = DispatchGroup()
        for _ in 0..<max(1, min(threads, chunks)) {
            start(in: done) {
                while let c = next.take(below: chunks) {
                    for i in (c * size)..<min(count, (c + 1) * size) { slots.set(i, work(i)) }
                    finished.mark(c)
                }
            }
        }
        for c in 0..<chunks {
            finished.wait(c)
            for i in (c * size)..<min(count, (c + 1) * size) { consume(i, slots.take(i)) }
        }
        done.wait()
    }

    /// Which chunks are done, waited for one at a time.
    private final class Finished: @unchecked Sendable {
        private let condition = NSCondition()
        private var done: [Bool]
        init(_ count: Int) { done = Array(repeating: false, count: count) }
        func mark(_ i: Int) {
            condition.lock()
            done[i] = true
            condition.broadcast()
            condition.unlock()
        }
        func wait(_ i: Int) {
            condition.lock()
            while !done[i] { condition.wait() }
            condition.unlock()
        }
    }

    /// Results written by index from several threads, each index by one, read once all are done.
    private final class Slots<T>: @unchecked Sendable {
        private let base: UnsafeMutablePointer<T?>
        private let count: Int
        init(_ count: Int) {
            self.count = count
            base = .allocate(capacity: count)
            base.initialize(repeating: nil, count: count)
        }
        func set(_ i: Int, _ value: T) { base[i] = value }
        func values() -> [T] { (0..<count).map { base[$0]! } }
        /// The value at `i`, moved out (its memory freed as it is consumed).
        func take(_ i: Int) -> T {
            defer { base[i] = nil }
            return base[i]!
        }
        deinit {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }

    private static func start(in group: DispatchGroup, _ work: @escaping @Sendable () -> Void) {
        group.enter()
        Thread {
            work()
            group.leave()
        }.start()
    }

    /// A value one thread writes and another reads once the group it left was waited for.
    private final class Slot<T>: @unchecked Sendable {
        var value: T?
    }
}
