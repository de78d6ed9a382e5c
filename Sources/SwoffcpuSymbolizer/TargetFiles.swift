import Glibc

/// Opening files on the traced process's behalf. Their names come from the target (the paths
/// in /proc/PID/maps, a binary's .gnu_debuglink, the JIT map it writes), and so may their
/// contents and the links on the way: docs/symbolization.md, "Files of the traced process".
///
/// - A path of the target is opened under its root (/proc/PID/root) with openat2's
///   RESOLVE_IN_ROOT: symlinks, absolute ones included, and `..` resolve inside that root, as
///   they do for the target, never out of it into the tracer's files. Without openat2 (kernels
///   before 5.6, or a seccomp filter refusing it) no symlink under the root is followed at all.
/// - Every file is opened with O_NONBLOCK and O_NOCTTY, and only a regular file is read: a FIFO
///   planted where a library should be does not hang the tracer, a terminal does not become its
///   controlling terminal.
enum TargetFiles {
    /// Flags for reading a file a target named.
    static let readFlags: Int32 = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK

    /// linux/openat2.h.
    private struct OpenHow {
        var flags: UInt64
        var mode: UInt64
        var resolve: UInt64
    }

    /// O_PATH (Glibc exports it only with _GNU_SOURCE): 010000000 on x86-64 and arm64.
    private static let oPath: Int32 = 0o10000000
    private static let resolveNoMagicLinks: UInt64 = 0x02
    private static let resolveInRoot: UInt64 = 0x10
    /// SYS_openat2: 437 in the generic syscall table, x86-64's and arm64's alike.
    private static let sysOpenat2 = 437

    /// glibc has no openat2 wrapper, and Swift does not import the variadic `syscall`: it is
    /// called through a pointer with a fixed prototype. On x86-64 and arm64 Linux a variadic
    /// callee takes integer arguments in the same registers (glibc's `syscall` is assembly that
    /// only moves them into place).
    private typealias Syscall4 = @convention(c) (Int, Int32, UnsafePointer<CChar>, UnsafeRawPointer, Int) -> Int
    private static let syscall4: Syscall4? = dlsym(nil, "syscall").map {
        unsafeBitCast($0, to: Syscall4.self)
    }

    /// Opens `path` (absolute, as the process whose root directory is `root` sees it) with
    /// `flags`, resolving it inside `root`. Returns the descriptor, or -1 with errno set.
    /// `useOpenat2: false` takes the fallback (for tests).
    static func open(_ path: String, inRoot root: String, flags: Int32 = readFlags, useOpenat2: Bool = true) -> Int32 {
        // The root itself (/proc/PID/root is a magic link to the target's root) is the tracer's
        // own path: followed as usual.
        let rootFD = Glibc.open(root, oPath | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { return -1 }
        defer { closePreservingErrno(rootFD) }
        var relative = Substring(path)
        while relative.first == "/" { relative = relative.dropFirst() }
        let rel = relative.isEmpty ? "." : String(relative)
        if useOpenat2, let syscall4 {
            var how = OpenHow(flags: UInt64(UInt32(bitPattern: flags)), mode: 0,
                              resolve: resolveInRoot | resolveNoMagicLinks)
            for _ in 0..<8 {
                let fd = withUnsafePointer(to: &how) { syscall4(sysOpenat2, rootFD, rel, $0, MemoryLayout<OpenHow>.size) }
                if fd >= 0 { return Int32(fd) }
                // EAGAIN: a rename raced the lookup (RESOLVE_IN_ROOT asks to retry).
                if errno == EINTR || errno == EAGAIN { continue }
                // ENOSYS: no openat2; EPERM: a seccomp filter that does not know it.
                if errno != ENOSYS && errno != EPERM { return -1 }
                break
            }
        }
        return openWithoutLinks(rel, under: rootFD, flags: flags)
    }

    /// The fallback: one component at a time, no symlink followed and no `..` (ELOOP, EXDEV).
    /// The paths of /proc/PID/maps are resolved already and have neither.
    static func openWithoutLinks(_ relative: String, under rootFD: Int32, flags: Int32) -> Int32 {
        let parts = relative.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") {
            errno = EXDEV
            return -1
        }
        guard let last = parts.last else { return openat(rootFD, ".", flags | O_NOFOLLOW) }
        var dir = rootFD
        defer { if dir != rootFD { closePreservingErrno(dir) } }
        for part in parts.dropLast() {
            // oPath | O_NOFOLLOW opens a symlink itself, which O_DIRECTORY then refuses.
            let next = openat(dir, String(part), oPath | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)
            if next < 0 {
                if errno == ENOTDIR { errno = ELOOP }
                return -1
            }
            if dir != rootFD { closePreservingErrno(dir) }
            dir = next
        }
        return openat(dir, String(last), flags | O_NOFOLLOW)
    }

    /// Opens a JIT map (`/tmp/perf-PID.map`), under `root` when given, and reads it only if it
    /// is a regular file, not a symlink, owned by root or by one of `uids` (the target's): as
    /// perf does, since /tmp is anyone's and another user could plant a map for the target.
    static func readPerfMap(_ path: String, inRoot root: String?, uids: Set<UInt32>,
                            useOpenat2: Bool = true) throws(SymbolizerError) -> [UInt8] {
        let flags = readFlags | O_NOFOLLOW
        let fd = root.map { open(path, inRoot: $0, flags: flags, useOpenat2: useOpenat2) } ?? Glibc.open(path, flags)
        let shown = (root ?? "") + path
        if fd < 0 { throw .io(path: shown, errno: errno) }
        defer { closePreservingErrno(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .io(path: shown, errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .untrusted(path: shown, why: "not a regular file") }
        if st.st_uid != 0 && !uids.contains(st.st_uid) {
            throw .untrusted(path: shown, why: "owned by uid \(st.st_uid), neither the process's user nor root")
        }
        return try readAll(fd: fd, path: shown, limit: 1 << 30)
    }

    /// The uids of a process (real, effective, saved, filesystem: the Uid line of
    /// /proc/PID/status); empty when it cannot be read.
    static func uids(pid: Int32) -> Set<UInt32> {
        guard let status = try? readWholeFile("/proc/\(pid)/status"),
              let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return [] }
        return Set(line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) })
    }

    static func closePreservingErrno(_ fd: Int32) {
        let saved = errno
        close(fd)
        errno = saved
    }
}

extension FileByteSource {
    /// The tracer's own `path` (a mapping's path as the target gave it, read after the target
    /// is gone), only if it is the mapped file: its device and inode are checked before the
    /// open (so that a path like /dev/watchdog is never opened) and after it.
    convenience init(path: String, mappedBy e: MapEntry) throws {
        func same(_ dev: UInt64, _ inode: UInt64) -> Bool {
            inode == e.inode && ProcMaps.devMajor(dev) == e.devMajor && ProcMaps.devMinor(dev) == e.devMinor
        }
        var st = stat()
        guard stat(path, &st) == 0 else { throw SymbolizerError.io(path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG, same(UInt64(st.st_dev), UInt64(st.st_ino)) else {
            throw SymbolizerError.untrusted(path: path, why: "not the mapped file")
        }
        try self.init(path: path)
        guard same(identity.dev, identity.inode) else {
            throw SymbolizerError.untrusted(path: path, why: "not the mapped file")
        }
    }
}
