import Glibc

/// Standard error and whether the standard streams are terminals.
public enum Terminal {
    /// Writes `text` to fd 2 as it is (Swift 6 does not let `stderr` be used across threads).
    public static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            var rest = UnsafeRawBufferPointer(buf)
            while !rest.isEmpty {
                let n = Glibc.write(2, rest.baseAddress, rest.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }
    }

    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
