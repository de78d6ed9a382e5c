import Foundation
import Glibc

/// A local HTTP server for the debuginfod tests: python3's http.server over `root` (a
/// directory in the protocol's layout, `buildid/<hex>/debuginfo`), on a port of its choosing.
public final class LocalHTTPServer {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let process = Process()
    public let root: String
    public private(set) var port = 0
    public var url: String { "http://127.0.0.1:\(port)" }

    public init(root: String) throws {
        self.root = root
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root, "0"]
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        var text = ""
        let fd = out.fileHandleForReading.fileDescriptor
        var buf = [UInt8](repeating: 0, count: 512)
        while !text.contains(") ...") {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "http.server ended: \(text)") }
            text += String(decoding: buf[0..<n], as: UTF8.self)
        }
        guard let r = text.range(of: " port "), let p = Int(text[r.upperBound...].prefix { $0.isNumber }) else {
            throw Failure(description: "no port in \(text)")
        }
        port = p
    }

    /// SIGKILL: the test process's children may inherit SIGTERM blocked (a waitUntilExit after
    /// terminate() then never returns).
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
