import CSwoffcpuSystem
import Glibc

extension Terminal {
    /// Rows and columns of the terminal on standard output, nil when it is not one.
    public static var stdoutSize: (rows: Int, columns: Int)? {
        var rows: Int32 = 0, cols: Int32 = 0
        guard swoffcpu_terminal_size(1, &rows, &cols) == 0 else { return nil }
        return (Int(rows), Int(cols))
    }

    /// Writes `text` to standard output as it is, now (not through print's buffer).
    public static func writeOutput(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            var rest = UnsafeRawBufferPointer(buf)
            while !rest.isEmpty {
                let n = Glibc.write(1, rest.baseAddress, rest.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }
    }
}
