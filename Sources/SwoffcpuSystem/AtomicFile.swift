import CSwoffcpuSystem
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed `AtomicFile.write`: which step, on which path, and the `errno` it left.
public struct AtomicFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Step: String, Sendable {
        case createTemporary = "create a temporary file"
        case write = "write"
        case sync = "fsync"
        case rename = "rename into place"
        /// The destination exists and is not a regular file (a directory, a device, a FIFO):
        /// renaming over it would replace it, so it is refused.
        case notRegular = "replace"
    }

    public var step: Step
    /// The destination (or the temporary file for `.write`/`.sync`).
    public var path: String
    public var errno: Int32

    public init(step: Step, path: String, errno: Int32) {
        self.step = step
        self.path = path
        self.errno = errno
    }

    public var description: String {
        if step == .notRegular {
            return "cannot write '\(path)': not a regular file (swoffcpu replaces its output files whole; '-' is standard output)"
        }
        return "cannot \(step.rawValue) \(path == "-" ? "standard output" : "'\(path)'"): \(String(cString: strerror(errno)))"
    }
}

/// Writes whole files so that readers see either the old content or the new one, never a part:
/// the data goes to a temporary file in the destination's directory (`.NAME.tmp-XXXXXX`), which is
/// fsync'ed and renamed over the destination; the directory is then fsync'ed so the rename survives
/// a crash. On failure the temporary file is removed and the destination is untouched.
///
/// The path `-` means standard output (written directly, not synced).
///
/// The new file keeps the mode of the file it replaces; a new file gets `permissions` less the
/// process umask (0644 under the usual umask 022), as `open(2)` would.
public enum AtomicFile {
    /// Who the files written belong to, when not the process's own user: under sudo, the
    /// invoking user (set once at start, before any file is written). The temporary file is
    /// given to them (fchown) before it is renamed into place.
    nonisolated(unsafe) public static var owner: (uid: uid_t, gid: gid_t)?

    public static func write(_ data: Data, to path: String, permissions: mode_t = 0o666) throws(AtomicFileError) {
        var result: Result<Void, AtomicFileError> = .success(())
        data.withUnsafeBytes { raw in
            result = Result { () throws(AtomicFileError) in
                try write(UnsafeRawBufferPointer(raw), to: path, permissions: permissions)
            }
        }
        try result.get()
    }

    public static func write(_ bytes: [UInt8], to path: String, permissions: mode_t = 0o666) throws(AtomicFileError) {
        var result: Result<Void, AtomicFileError> = .success(())
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(AtomicFileError) in
                try write(raw, to: path, permissions: permissions)
            }
        }
        try result.get()
    }

    public static func write(_ text: String, to path: String, permissions: mode_t = 0o666) throws(AtomicFileError) {
        var text = text
        var result: Result<Void, AtomicFileError> = .success(())
        text.withUTF8 { buffer in
            result = Result { () throws(AtomicFileError) in
                try write(UnsafeRawBufferPointer(buffer), to: path, permissions: permissions)
            }
        }
        try result.get()
    }

    /// Checks, before any work is done for it, that `path` can be written as `write` will: the
    /// destination, if it exists, is a regular file (or a link to one), and a temporary file can be
    /// created beside it (which is removed again).
    public static func checkWritable(_ path: String) throws(AtomicFileError) {
        guard path != "-" else { return }
        var existing = stat()
        if stat(path, &existing) == 0 && (existing.st_mode & S_IFMT) != S_IFREG {
            throw AtomicFileError(step: .notRegular, path: path, errno: EINVAL)
        }
        _ = try Pieces(path: path, permissions: 0o600)
    }

    /// Writes the pieces `produce` passes to its argument, in order, as one file, atomically as
    /// above: for files too big to build whole in memory (folded stacks, JSON of a big trace).
    /// An error thrown by `produce` leaves the destination untouched, and is rethrown.
    public static func write(to path: String, permissions: mode_t = 0o666,
                             _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        let file = try Pieces(path: path, permissions: permissions)
        try produce { bytes in try bytes.withUnsafeBytes { raw in try file.write(raw) } }
        try file.commit()
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to path: String, permissions: mode_t) throws(AtomicFileError) {
        let file = try Pieces(path: path, permissions: permissions)
        try file.write(bytes)
        try file.commit()
    }

    /// A file being written: the temporary file (or standard output), removed unless committed.
    private final class Pieces {
        let path: String
        private var fd: Int32 = STDOUT_FILENO
        private var temporary: String?
        private var directory = "."

        init(path: String, permissions: mode_t) throws(AtomicFileError) {
            self.path = path
            if path == "-" {
                fflush(nil) // anything print()ed before goes first
                return
            }
            let name: String
            (directory, name) = split(path)
            var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw AtomicFileError(step: .createTemporary, path: path, errno: errno) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            var existing = stat()
            let mode = stat(path, &existing) == 0 ? existing.st_mode & 0o7777 : permissions & ~currentUmask()
            _ = fchmod(fd, mode)
            if let owner = AtomicFile.owner { _ = fchown(fd, owner.uid, owner.gid) }
        }

        /// Bytes written, and up to where the kernel was asked to start writing them out.
        private var written = 0, flushing = 0

        func write(_ bytes: UnsafeRawBufferPointer) throws(AtomicFileError) {
            try writeAll(fd, bytes, path: temporary ?? path)
            written += bytes.count
            // A big file's data goes to the disk while the rest is still being made, so that
            // the fsync at the end has little left to wait for (16 ms of 43 MB of folded stacks
            // here). Only a hint: a failure shows at the fsync.
            if temporary != nil && written - flushing >= 8 << 20 {
                _ = swoffcpu_start_writeback(fd, Int64(flushing), Int64(written - flushing))
                flushing = written
            }
        }

        /// Syncs, closes and renames the temporary file into place, then syncs the directory.
        func commit() throws(AtomicFileError) {
            guard let temporary else { return }
            if fsync(fd) != 0 { throw AtomicFileError(step: .sync, path: temporary, errno: errno) }
            let closing = fd
            fd = -1
            if close(closing) != 0 { throw AtomicFileError(step: .write, path: temporary, errno: errno) }
            if rename(temporary, path) != 0 { throw AtomicFileError(step: .rename, path: path, errno: errno) }
            self.temporary = nil
            // Make the rename durable. Some file systems refuse fsync on directories: not an error.
            let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryFD >= 0 {
                _ = fsync(directoryFD)
                _ = close(directoryFD)
            }
        }

        deinit {
            guard let temporary else { return }
            if fd >= 0 { _ = close(fd) }
            _ = unlink(temporary)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(AtomicFileError) {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw AtomicFileError(step: .write, path: path, errno: errno)
            }
            offset += written
        }
    }

    /// Directory and last component: `a/b/c` -> (`a/b`, `c`), `c` -> (`.`, `c`), `/c` -> (`/`, `c`).
    private static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        return (directory.isEmpty ? "/" : directory, name)
    }

    /// The umask, read from /proc/self/status on Linux (setting it to read it would race with other
    /// threads creating files); 022 if that is not available.
    private static func currentUmask() -> mode_t {
        #if os(Linux)
        if let status = ProcFS.read("/proc/self/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
                let digits = line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces)
                if let mask = mode_t(digits, radix: 8) { return mask }
            }
        }
        #endif
        return 0o022
    }
}
