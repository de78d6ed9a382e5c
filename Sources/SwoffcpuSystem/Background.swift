import Dispatch

/// A value computed on another thread while the caller goes on; `value()` waits for it.
public final class Background<T: Sendable>: @unchecked Sendable {
    /// Written once by the worker, read after `done` is signalled.
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)

    public init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async {
            self.result = Result { try work() }
            self.done.signal()
        }
    }

    public func value() throws -> T {
        done.wait()
        return try result!.get()
    }
}
