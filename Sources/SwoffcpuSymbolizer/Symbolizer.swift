import Foundation
import Glibc
import SwoffcpuSystem

/// The parsed, immutable symbol information of one ELF file (plus its separate debug file).
/// Shared between snapshots through the Symbolizer's caches.
final class ElfModule: Sendable {
    /// The path the file was read through (for diagnostics).
    let path: String
    let buildID: [UInt8]?
    let loads: [LoadSegment]
    let symbols: SymbolTable
    /// The separate debug file whose .symtab was merged in, if any.
    let debugFile: String?
    /// The file's `.eh_frame` CFI (leaf-frame recovery, Unwind/), nil when it has none.
    let unwindInfo: EhFrameUnwindInfo?
    /// No `.symtab` and no debug file found: only its exported (`.dynsym`) functions are named.
    let stripped: Bool
    /// The build-id in hex, made once: pprof's mappings ask for it at every frame.
    let buildIDHex: String?

    init(path: String, buildID: [UInt8]?, loads: [LoadSegment], symbols: SymbolTable, debugFile: String?,
         unwindInfo: EhFrameUnwindInfo? = nil, stripped: Bool = false) {
        self.stripped = stripped
        self.path = path
        self.buildID = buildID
        self.loads = loads
        self.symbols = symbols
        self.debugFile = debugFile
        self.unwindInfo = unwindInfo
        buildIDHex = buildID.map(hexString)
    }
}

/// Lower-case hex of `bytes` (a build-id), without Foundation's formatter (String(format:) costs
/// microseconds a byte).
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Entry point. Holds the caches of parsed ELF files (by build-id, and by dev+inode+size+mtime),
/// shared by every snapshot it takes. Thread-safe.
public final class Symbolizer: @unchecked Sendable {
    public let options: SymbolizerOptions
    private let lock = NSLock()
    private var byBuildID: [[UInt8]: ElfModule] = [:]
    private var byIdentity: [FileIdentity: ElfModule] = [:]
    /// Files that failed to parse, so that every snapshot does not retry them.
    private var failedIdentities: [FileIdentity: SymbolizerError] = [:]

    /// The debuginfod client, when the options name servers (`DEBUGINFOD_URLS`).
    public let debuginfod: Debuginfod?

    public init(options: SymbolizerOptions = .init()) {
        self.options = options
        debuginfod = options.useDebugFiles ? options.debuginfod.map(Debuginfod.init(config:)) : nil
    }

    /// Number of distinct parsed ELF files in the cache.
    public var cachedModuleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return Set(byIdentity.values.map(ObjectIdentifier.init)).union(byBuildID.values.map(ObjectIdentifier.init)).count
    }

    /// Reads /proc/PID/maps and parses every executable mapped file now (through
    /// /proc/PID/root or /proc/PID/map_files), plus the vdso and /tmp/perf-PID.map, so that the
    /// result keeps working after the process exits.
    public func snapshotProcess(pid: Int32) throws -> ProcessSymbols {
        let mapsBytes: [UInt8]
        do {
            mapsBytes = try readWholeFile("/proc/\(pid)/maps")
        } catch SymbolizerError.io(_, let e) where e == ENOENT || e == ESRCH {
            throw SymbolizerError.processNotFound(pid: pid)
        }
        let entries = ProcMaps.parse(mapsBytes).sorted { $0.start < $1.start }
        var problems: [String] = []
        // One module per mapped file (dev, inode, path); its executable mappings decide.
        struct FileKey: Hashable { var major: UInt32; var minor: UInt32; var inode: UInt64; var path: String }
        var modules: [FileKey: ElfModule?] = [:]
        var vdso: ElfModule? = nil
        var files: [MapEntry] = []
        var seenFiles = Set<FileKey>()
        for e in entries where e.executable {
            if e.isFileBacked {
                if seenFiles.insert(FileKey(major: e.devMajor, minor: e.devMinor, inode: e.inode, path: e.path)).inserted {
                    files.append(e)
                }
            } else if e.path == "[vdso]" {
                vdso = vdsoModule(pid: pid, entry: e, problems: &problems)
            }
        }
        // Each file parsed once; with debuginfod, on several threads: their downloads overlap.
        let toParse = files
        let parsed = Concurrently.map(files.count, threads: debuginfod?.config.parallelFetches ?? 1) { [self] i in
            Result { try module(pid: pid, entry: toParse[i]) }
        }
        for (e, result) in zip(files, parsed) {
            let key = FileKey(major: e.devMajor, minor: e.devMinor, inode: e.inode, path: e.path)
            switch result {
            case .success(let m): modules[key] = .some(m)
            case .failure(let error):
                modules[key] = .some(nil)
                problems.append("\(e.path): \(error)")
            }
        }
        var mappings: [ProcessSymbols.Mapping] = []
        mappings.reserveCapacity(entries.count)
        for e in entries {
            var m = ProcessSymbols.Mapping(entry: e, module: nil, name: "")
            if e.isFileBacked {
                m.name = basename(e.path)
                m.module = modules[FileKey(major: e.devMajor, minor: e.devMinor, inode: e.inode, path: e.path)] ?? nil
            } else if e.path == "[vdso]" {
                m.name = "[vdso]"
                m.module = vdso
            } else if e.path.isEmpty {
                m.name = "[anon]"
            } else {
                m.name = e.path.hasPrefix("[") ? e.path : "[\(e.path)]"
            }
            mappings.append(m)
        }
        var perfMap = SymbolTable.empty
        if options.usePerfMaps {
            let uids = TargetFiles.uids(pid: pid)
            for (root, path) in perfMapPaths(pid: pid) {
                do {
                    perfMap = PerfMap.parse(try TargetFiles.readPerfMap(path, inRoot: root, uids: uids))
                    break
                } catch .untrusted(let path, let why) {
                    // Said once: the next place is the same file seen from outside the target's root.
                    problems.append(SymbolizerError.untrusted(path: path, why: why).description)
                    break
                } catch {
                    continue // none there
                }
            }
        }
        return ProcessSymbols(pid: pid, mappings: mappings, perfMap: perfMap, options: options, problems: problems)
    }

    /// A snapshot of /proc/kallsyms. Take it after loading the profiler's BPF programs.
    public func kernel() throws -> KernelSymbols {
        try KernelSymbols(options: options)
    }

    // MARK: - Files

    /// The JIT map's places, as (root to open it in, path): the target's root first.
    private func perfMapPaths(pid: Int32) -> [(root: String?, path: String)] {
        var paths: [(root: String?, path: String)] = [(nil, "/tmp/perf-\(pid).map")]
        // A process in a PID namespace writes /tmp/perf-<its own pid>.map in its own mount namespace.
        if let status = try? readWholeFile("/proc/\(pid)/status"),
           let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }),
           let last = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last, let nspid = Int32(last) {
            paths.insert(("/proc/\(pid)/root", "/tmp/perf-\(nspid).map"), at: 0)
        }
        return paths
    }

    /// Opens the file behind a mapping: <path> inside /proc/PID/root (symlinks resolved in
    /// the target's root, `TargetFiles`) when its dev/inode match the mapping, else
    /// /proc/PID/map_files/<start>-<end> (deleted or replaced files), else, the process gone,
    /// <path> in our own root if its dev/inode match.
    private func openMapped(pid: Int32, entry e: MapEntry) throws -> FileByteSource {
        let mapFiles = "/proc/\(pid)/map_files/\(String(e.start, radix: 16))-\(String(e.end, radix: 16))"
        if e.deleted {
            return try FileByteSource(path: mapFiles)
        }
        let rooted = "/proc/\(pid)/root\(e.path)"
        var firstError: Error? = nil
        do {
            let f = try FileByteSource(path: e.path, inRoot: "/proc/\(pid)/root")
            let id = f.identity
            let devMatches = ProcMaps.devMajor(id.dev) == e.devMajor && ProcMaps.devMinor(id.dev) == e.devMinor
            if id.inode == e.inode && devMatches { return f }
            // Replaced on disk (or an overlay filesystem reporting another device): prefer the mapped file.
            if let m = try? FileByteSource(path: mapFiles) { return m }
            if id.inode == e.inode { return f }  // overlayfs without map_files access
            throw SymbolizerError.io(path: rooted, errno: ESTALE)
        } catch {
            firstError = error
        }
        if let m = try? FileByteSource(path: mapFiles) { return m }
        // The process exited meanwhile (a short-lived one, snapshotted at its exec): its root
        // and map_files are gone. The same path in swoffcpu's own root is used if it is the
        // very file that was mapped (device and inode), as it is outside containers.
        if let own = try? FileByteSource(path: e.path, mappedBy: e) { return own }
        throw firstError!
    }

    private func module(pid: Int32, entry e: MapEntry) throws -> ElfModule {
        let source = try openMapped(pid: pid, entry: e)
        return try module(source: source, originalPath: e.path, pid: pid)
    }

    /// Parses (or finds in the caches) the module of an opened file.
    func module(source: FileByteSource, originalPath: String, pid: Int32?) throws -> ElfModule {
        let identity = source.identity
        lock.lock()
        if let m = byIdentity[identity] {
            lock.unlock()
            return m
        }
        if let err = failedIdentities[identity] {
            lock.unlock()
            throw err
        }
        lock.unlock()
        let image: ELFImage
        do {
            image = try ELFImage(source: source, path: originalPath)
        } catch let err as SymbolizerError {
            lock.lock()
            failedIdentities[identity] = err
            lock.unlock()
            throw err
        }
        if let id = image.buildID {
            lock.lock()
            if let m = byBuildID[id] {
                byIdentity[identity] = m
                lock.unlock()
                return m
            }
            lock.unlock()
        }
        var builder = SymbolTableBuilder()
        image.appendSymbols(to: &builder)
        var debugPath: String? = nil
        if !image.hasSymtab && options.useDebugFiles,
           let (debugImage, path) = findDebugFile(for: image, mainIdentity: identity, originalPath: originalPath, pid: pid)
            ?? debuginfodFile(for: image) {
            debugImage.appendSymbols(to: &builder, includeDynsym: false)
            debugPath = path
        }
        let m = ElfModule(path: originalPath, buildID: image.buildID, loads: image.loads,
                          symbols: builder.build(), debugFile: debugPath,
                          unwindInfo: EhFrameUnwindInfo(sections: image.sections, source: source),
                          stripped: !image.hasSymtab && debugPath == nil)
        lock.lock()
        defer { lock.unlock() }
        if let id = image.buildID {
            if let existing = byBuildID[id] {  // parsed concurrently
                byIdentity[identity] = existing
                return existing
            }
            byBuildID[id] = m
        }
        byIdentity[identity] = m
        return m
    }

    /// Separate debug files: by build-id under each debug directory, then by .gnu_debuglink
    /// next to the binary, in its .debug/ subdirectory, and under each debug directory. Each
    /// path is tried under /proc/PID/root (inside the target's root, `TargetFiles`), and the
    /// debug directories' paths also as they are: those are the tracer's own. A path the
    /// target's binary chose (beside it, or an absolute debuglink) is not opened outside its
    /// root: a debuglink of `/dev/watchdog` must not open the tracer's.
    private func findDebugFile(for image: ELFImage, mainIdentity: FileIdentity, originalPath: String,
                               pid: Int32?) -> (ELFImage, String)? {
        // (path, whether the tracer may open it as is: a debug directory's)
        var candidates: [(path: String, host: Bool)] = []
        if let id = image.buildID, id.count >= 2 {
            let h = hexString(id)
            let rel = "/.build-id/\(h.prefix(2))/\(h.dropFirst(2)).debug"
            for dir in options.debugDirectories { candidates.append((dir + rel, true)) }
        }
        if let link = image.debugLink, !link.name.contains("/") || link.name.hasPrefix("/") {
            if link.name.hasPrefix("/") {
                candidates.append((link.name, false))
            } else {
                let dir = dirname(originalPath)
                candidates.append(("\(dir)/\(link.name)", false))
                candidates.append(("\(dir)/.debug/\(link.name)", false))
                for d in options.debugDirectories { candidates.append(("\(d)\(dir)/\(link.name)", true)) }
            }
        }
        var tried = Set<String>()
        for c in candidates {
            // (root, path): nil root for the tracer's own path.
            var paths: [(root: String?, path: String)] = []
            if c.host || pid == nil { paths.append((nil, c.path)) }
            if let pid, !c.path.hasPrefix("/proc/") { paths.append(("/proc/\(pid)/root", c.path)) }
            for (root, path) in paths where tried.insert((root ?? "") + path).inserted {
                let p = (root ?? "") + path
                guard let f = try? (root.map { try FileByteSource(path: path, inRoot: $0) } ?? FileByteSource(path: path))
                else { continue }
                if f.identity.dev == mainIdentity.dev && f.identity.inode == mainIdentity.inode { continue }
                guard let dbg = try? ELFImage(source: f, path: p), dbg.hasSymtab else { continue }
                if let want = image.buildID, let have = dbg.buildID {
                    if want != have { continue }
                } else if let link = image.debugLink {
                    guard f.crc32() == link.crc else { continue }
                } else {
                    continue
                }
                return (dbg, p)
            }
        }
        return nil
    }

    /// The debug file of a stripped image from a debuginfod server (or elfutils' cache), when
    /// `DEBUGINFOD_URLS` names one: checked like a local one (same build-id, a `.symtab`).
    private func debuginfodFile(for image: ELFImage) -> (ELFImage, String)? {
        guard let debuginfod, let id = image.buildID, id.count >= 2 else { return nil }
        let hex = hexString(id)
        guard case .found(let path) = debuginfod.debugFile(buildID: hex),
              let f = try? FileByteSource(path: path),
              let dbg = try? ELFImage(source: f, path: path), dbg.hasSymtab, dbg.buildID == id else { return nil }
        return (dbg, path)
    }

    private func vdsoModule(pid: Int32, entry e: MapEntry, problems: inout [String]) -> ElfModule? {
        let size = Int(clamping: e.end - e.start)
        var bytes: [UInt8]? = nil
        if options.readVDSO {
            bytes = readProcessMemory(pid: pid, address: e.start, count: size)
        }
        if bytes == nil {
            // Same kernel, same vdso image: use our own.
            if let own = try? readWholeFile("/proc/self/maps"),
               let mine = ProcMaps.parse(own).first(where: { $0.path == "[vdso]" }) {
                bytes = readProcessMemory(pid: getpid(), address: mine.start, count: Int(clamping: mine.end - mine.start))
            }
        }
        guard let b = bytes else {
            problems.append("[vdso]: could not read the image")
            return nil
        }
        do {
            let image = try ELFImage(source: MemoryByteSource(bytes: b), path: "[vdso]")
            if let id = image.buildID {
                lock.lock()
                if let m = byBuildID[id] {
                    lock.unlock()
                    return m
                }
                lock.unlock()
            }
            var builder = SymbolTableBuilder()
            image.appendSymbols(to: &builder)
            let m = ElfModule(path: "[vdso]", buildID: image.buildID, loads: image.loads, symbols: builder.build(), debugFile: nil,
                              unwindInfo: EhFrameUnwindInfo(sections: image.sections, source: MemoryByteSource(bytes: b)))
            if let id = image.buildID {
                lock.lock()
                byBuildID[id] = m
                lock.unlock()
            }
            return m
        } catch {
            problems.append("[vdso]: \(error)")
            return nil
        }
    }
}
