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
