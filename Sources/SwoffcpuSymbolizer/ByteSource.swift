import Glibc
import SwoffcpuSystem

/// Bounds-checked little-endian reads out of a byte array. Every accessor returns nil instead of
/// trapping when the range does not fit.
extension Array where Element == UInt8 {
    @inline(__always)
    func u8(at o: Int) -> UInt8? {
        o >= 0 && o < count ? self[o] : nil
    }

    @inline(__always)
    func u16(at o: Int) -> UInt16? {
        guard o >= 0, o <= count - 2 else { return nil }
        return withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    }

    @inline(__always)
    func u32(at o: Int) -> UInt32? {
        guard o >= 0, o <= count - 4 else { return nil }
        return withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    }

    @inline(__always)
    func u64(at o: Int) -> UInt64? {
        guard o >= 0, o <= count - 8 else { return nil }
        return withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
    }

    /// NUL-terminated string starting at `o` (up to `limit` bytes); nil when `o` is out of range.
    func cString(at o: Int, limit: Int = 4096) -> String? {
        guard o >= 0, o < count else { return nil }
        var end = o
        let stop = Swift.min(count, o + limit)
        while end < stop, self[end] != 0 { end += 1 }
        return String(decoding: self[o..<end], as: UTF8.self)
    }

    /// Length of the NUL-terminated string starting at `o`, bounded by the array end.
    func cStringLength(at o: Int) -> Int {
        guard o >= 0, o < count else { return 0 }
        return withUnsafeBytes { raw -> Int in
            let base = raw.baseAddress!.advanced(by: o)
            if let p = memchr(base, 0, count - o) {
                return base.distance(to: UnsafeRawPointer(p))
            }
            return count - o
        }
    }
}

/// Random access to the bytes of an ELF image: a file (pread, no mmap, so a file truncated
/// under us gives short reads, never SIGBUS) or an in-memory copy (vdso, tests, fuzzing).
protocol ByteSource {
    var size: UInt64 { get }
    /// Exactly `count` bytes at `offset`, or nil if that range is not inside the source.
    func read(_ offset: UInt64, _ count: Int) -> [UInt8]?
}

/// Upper bound for one read: nothing in an ELF file we look at is larger.
let maxSingleRead = 1 << 30

struct MemoryByteSource: ByteSource {
    let bytes: [UInt8]
    var size: UInt64 { UInt64(bytes.count) }
    func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, count <= maxSingleRead, offset <= size, UInt64(count) <= size - offset else { return nil }
        let o = Int(offset)
        return Array(bytes[o..<(o + count)])
    }
}

/// The identity of a file, as fstat sees it. Used as a cache key when there is no build-id.
struct FileIdentity: Hashable, Sendable {
    var dev: UInt64
    var inode: UInt64
    var size: Int64
    var mtimeSec: Int
    var mtimeNsec: Int
}

final class FileByteSource: ByteSource {
    let path: String
    let fd: Int32
    let size: UInt64
    let identity: FileIdentity

    /// Opens a file of the tracer's (a host debug directory, /proc/PID/map_files/…). Only a
    /// regular file is read; a FIFO or a terminal there is not waited on or adopted.
    convenience init(path: String) throws {
        let fd = open(path, TargetFiles.readFlags)
        if fd < 0 { throw SymbolizerError.io(path: path, errno: errno) }
        try self.init(fd: fd, path: path)
    }

    /// Opens `path` as the traced process sees it, inside its root directory `root`
    /// (/proc/PID/root): no symlink leads out of it (`TargetFiles.open`).
    convenience init(path: String, inRoot root: String) throws {
        let shown = root + path
        let fd = TargetFiles.open(path, inRoot: root)
        if fd < 0 { throw SymbolizerError.io(path: shown, errno: errno) }
        try self.init(fd: fd, path: shown)
    }

    /// Takes `fd` (closed on failure).
    init(fd: Int32, path: String) throws {
        self.path = path
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errno
            close(fd)
            throw SymbolizerError.io(path: path, errno: e)
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw SymbolizerError.notELF(path: path)
        }
        self.fd = fd
        self.size = UInt64(max(0, st.st_size))
        self.identity = FileIdentity(dev: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                                     mtimeSec: st.st_mtim.tv_sec, mtimeNsec: st.st_mtim.tv_nsec)
    }

    deinit { close(fd) }

    func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, count <= maxSingleRead, offset <= size, UInt64(count) <= size - offset else { return nil }
        if count == 0 { return [] }
        var buf = [UInt8](repeating: 0, count: count)
        var done = 0
        let ok = buf.withUnsafeMutableBytes { raw -> Bool in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                if n == 0 { return false }  // truncated under us
                done += n
            }
            return true
        }
        return ok ? buf : nil
    }

    /// CRC-32 (the zlib/.gnu_debuglink one) of the whole file.
    func crc32() -> UInt32? {
        var crc = CRC32()
        var off: UInt64 = 0
        let chunk = 1 << 20
        while off < size {
            let n = Int(min(UInt64(chunk), size - off))
            guard let b = read(off, n) else { return nil }
            crc.update(b)
            off += UInt64(n)
        }
        return crc.value
    }
}

/// Reads a whole file with a read loop until EOF (`ProcFS.readBytes`). Needed for procfs, whose
/// files report size 0 and which Foundation's String(contentsOfFile:) may truncate.
func readWholeFile(_ path: String, limit: Int = 1 << 30) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SymbolizerError.io(path: path, errno: errno) }
    defer { close(fd) }
    return try readAll(fd: fd, path: path, limit: limit)
}

/// Reads `fd` until EOF (or past `limit` bytes): `ProcFS.readAll`, the one read loop.
func readAll(fd: Int32, path: String, limit: Int) throws(SymbolizerError) -> [UInt8] {
    switch ProcFS.readAll(fd: fd, limit: limit) {
    case .success(let bytes): return bytes
    case .failure(let e): throw .io(path: path, errno: e.errno)
    }
}

/// pread of a region of /proc/PID/mem (the vdso image).
func readProcessMemory(pid: Int32, address: UInt64, count: Int) -> [UInt8]? {
    guard count > 0, count <= 1 << 24 else { return nil }
    let path = "/proc/\(pid)/mem"
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: count)
    // Addresses above Int64.max (none in user space) cannot be pread offsets.
    guard address <= UInt64(Int64.max) else { return nil }
    var done = 0
    let ok = buf.withUnsafeMutableBytes { raw -> Bool in
        while done < count {
            let n = pread(fd, raw.baseAddress! + done, count - done, off_t(bitPattern: UInt(address) + UInt(done)))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }
    return ok ? buf : nil
}

/// CRC-32, polynomial 0xEDB88320 (zlib, gnu_debuglink).
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private var crc: UInt32 = 0xFFFF_FFFF

    mutating func update(_ bytes: [UInt8]) {
        let t = CRC32.table
        var c = crc
        for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        crc = c
    }

    var value: UInt32 { crc ^ 0xFFFF_FFFF }
}

func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

func basename(_ path: String) -> String {
    if let slash = path.lastIndex(of: "/") {
        return String(path[path.index(after: slash)...])
    }
    return path
}

func dirname(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}
