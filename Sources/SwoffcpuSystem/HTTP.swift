import CSwoffcpuSystem
import Glibc

/// HTTP(S) GET into a file, for the debuginfod client: libcurl, loaded on first use
/// (`Sources/CSwoffcpuSystem/http.c` says why it is not linked).
public enum HTTP {
    public enum Outcome: Equatable, Sendable {
        /// The transfer completed; `status` is the HTTP status (0 for `file://`).
        case done(status: Int)
        /// The transfer failed (connection refused, timeout, name not resolved…): why.
        case failed(String)
        /// libcurl cannot be loaded: why.
        case unavailable(String)
    }

    /// GET `url` and write the body to `fd`. `timeout`: connect within it, then at least
    /// 100 KiB per `timeout` seconds (0: none); `maxTime`: the whole transfer (0: none);
    /// `maxBytes`: the body (0: any).
    public static func get(_ url: String, into fd: Int32, timeout: Int, maxTime: Int = 0, maxBytes: UInt64 = 0) -> Outcome {
        var status = 0
        var err = [CChar](repeating: 0, count: 320)
        let rc = err.withUnsafeMutableBufferPointer { e in
            swoffcpu_http_get(url, fd, timeout, maxTime, maxBytes, &status, e.baseAddress, UInt(e.count))
        }
        let why = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch rc {
        case 0: return .done(status: status)
        case -1: return .unavailable(why)
        default: return .failed(why)
        }
    }
}
