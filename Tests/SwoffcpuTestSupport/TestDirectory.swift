import Foundation

/// A fresh directory under the system temporary directory, removed when released.
public final class TestDirectory {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "swoffcpu-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
