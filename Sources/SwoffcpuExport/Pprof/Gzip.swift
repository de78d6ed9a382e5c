import CZlib

/// Gzip (RFC 1952) with the zlib linked for libbpf: pprof files are gzip'd protobuf.
enum Gzip {
    struct Failure: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "gzip: zlib error \(code)" }
    }

    static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: swoffcpu_gzip_bound(bytes.count) + 64)
        var length = out.count
        let rc = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                swoffcpu_gzip(input.baseAddress, input.count, output.baseAddress, &length, level)
            }
        }
        guard rc == Z_OK else { throw Failure(code: rc) }
        out.removeSubrange(length...)
        return out
    }
}
