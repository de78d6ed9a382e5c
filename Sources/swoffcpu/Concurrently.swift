import Foundation

/// Runs independent jobs each on a thread of its own and `main` on the calling thread, waits for
/// them all, then throws the first error (`main`'s, then the jobs' in order). The report files
/// are built and synced this way: on two CPUs, one file's fsync waits while another is built.
enum Concurrently {
    static func run(_ jobs: [@Sendable () throws -> Void], main: () throws -> Void) throws {
        let errors = Errors(count: jobs.count)
        let done = DispatchGroup()
        for (i, job) in jobs.enumerated() {
            done.enter()
            Thread {
                defer { done.leave() }
                do { try job() } catch { errors.set(i, error) }
            }.start()
        }
        let mainResult = Result { try main() }
        done.wait()
        try mainResult.get()
        if let error = errors.first { throw error }
    }

    private final class Errors: @unchecked Sendable {
        private let lock = NSLock()
        private var errors: [(any Error)?]

        init(count: Int) { errors = Array(repeating: nil, count: count) }

        func set(_ i: Int, _ error: any Error) {
            lock.lock()
            errors[i] = error
            lock.unlock()
        }

        var first: (any Error)? {
            lock.lock()
            defer { lock.unlock() }
            return errors.lazy.compactMap { $0 }.first
        }
    }
}
