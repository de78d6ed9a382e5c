import Glibc

/// Finds the CPython interpreter of a process, as py-spy and the OpenTelemetry eBPF profiler do:
/// the ELF symbol `_PyRuntime` in the executable or in `libpython3.X.so` mapped by the process,
/// and the version from the interpreter's own data: `Py_Version` (3.11+, PY_VERSION_HEX) read
/// from its memory, else (3.10) the version string in the file's read-only data.
public struct PythonRuntimeLocation: Sendable, Equatable {
    /// Address of `_PyRuntime` in the process.
    public var runtime: UInt64
    /// PY_VERSION_HEX.
    public var versionHex: UInt32
    /// Basename of the file that holds the interpreter.
    public var module: String
}

public enum PythonProbe {
    /// The interpreter of `pid`, or nil: not a CPython process (no `_PyRuntime`), or its
    /// version unreadable. `why` says which, for a process that looked like Python.
    public static func locate(pid: Int32) -> (location: PythonRuntimeLocation?, why: String?) {
        guard let maps = try? readWholeFile("/proc/\(pid)/maps", limit: 1 << 26) else { return (nil, nil) }
        let entries = ProcMaps.parse(maps)
        var tried = Set<String>()
        for e in entries where e.isFileBacked && e.executable {
            let name = basename(e.path)
            guard name.hasPrefix("python") || name.hasPrefix("libpython"), tried.insert(e.path).inserted else { continue }
            guard let source = try? FileByteSource(path: e.path, inRoot: "/proc/\(pid)/root"),
                  let image = try? ELFImage(source: source, path: e.path) else { continue }
            let symbols = image.objectSymbols(named: ["_PyRuntime", "Py_Version"])
            guard let runtimeVaddr = symbols["_PyRuntime"] else { continue }
            // The load bias from this executable mapping: its start less the ELF address of its offset.
            guard let vaddr = image.loads.vaddr(forFileOffset: e.offset) else { continue }
            let bias = e.start &- vaddr
            var hex: UInt32?
            if let v = symbols["Py_Version"], let bytes = readProcessMemory(pid: pid, address: bias &+ v, count: 4) {
                hex = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            } else {
                hex = image.versionString()
            }
            guard let hex else { return (nil, "\(name): _PyRuntime found, but not the interpreter's version") }
            return (PythonRuntimeLocation(runtime: bias &+ runtimeVaddr, versionHex: hex, module: name), nil)
        }
        return (nil, nil)
    }

    /// Bytes of another process's memory (/proc/PID/mem), nil where unreadable.
    public static func read(pid: Int32, address: UInt64, count: Int) -> [UInt8]? {
        readProcessMemory(pid: pid, address: address, count: count)
    }
}

extension ELFImage {
    /// ELF addresses of the named symbols (.symtab, else .dynsym).
    func objectSymbols(named wanted: Set<String>) -> [String: UInt64] {
        var found: [String: UInt64] = [:]
        for s in sections where s.type == ELFConst.shtSymtab || s.type == ELFConst.shtDynsym {
            guard (s.flags & ELFConst.shfCompressed) == 0, s.size > 0, s.size <= UInt64(maxSingleRead) else { continue }
            let entsize = s.entsize == 0 ? 24 : Int(clamping: s.entsize)
            guard entsize >= 24, Int(s.link) < sections.count, Int(s.link) > 0 else { continue }
            let strSec = sections[Int(s.link)]
            guard strSec.size <= UInt64(maxSingleRead), let strtab = source.read(strSec.offset, Int(strSec.size)),
                  let symtab = source.read(s.offset, Int(s.size)) else { continue }
            let n = symtab.count / entsize
            for i in 1..<max(1, n) {
                let b = i * entsize
                let (nameOff, value, shndx) = symtab.withUnsafeBytes { raw in
                    (Int(raw.loadUnaligned(fromByteOffset: b, as: UInt32.self)),
                     raw.loadUnaligned(fromByteOffset: b + 8, as: UInt64.self),
                     raw.loadUnaligned(fromByteOffset: b + 6, as: UInt16.self))
                }
                guard shndx != ELFConst.shnUndef, value != 0, nameOff < strtab.count else { continue }
                let len = strtab.cStringLength(at: nameOff)
                guard len > 0, len <= 16 else { continue }
                let name = String(decoding: strtab[nameOff..<(nameOff + len)], as: UTF8.self)
                if wanted.contains(name), found[name] == nil { found[name] = value }
            }
            if found.count == wanted.count { break }
        }
        return found
    }

    /// PY_VERSION_HEX from the PY_VERSION literal in .rodata ("3.10.13\0", which Py_GetVersion
    /// formats; the linker may merge it into the tail of a longer string), for interpreters older
    /// than `Py_Version` (3.11), the minor version from the file's name. Only a final
    /// release's "X.Y.Z" is taken (level 0xf).
    func versionString() -> UInt32? {
        guard let ro = sections.first(where: { $0.name == ".rodata" }), ro.size <= UInt64(maxSingleRead),
              let bytes = source.read(ro.offset, Int(ro.size)) else { return nil }
        // The file name gives the minor version to look for: python3.10, libpython3.10.so.
        guard let r = path.range(of: "python3."), let minor = Int(path[r.upperBound...].prefix { $0.isNumber }) else { return nil }
        let prefix = Array("3.\(minor).".utf8)
        var i = 1
        while i + prefix.count < bytes.count {
            // Tail merging may leave it the end of a longer string ("/opt/python/3.10.13"):
            // any start that does not continue a number.
            let before = bytes[i - 1]
            if !(before >= 48 && before <= 57) && before != 46, bytes[i] == prefix[0],
               Array(bytes[i..<(i + prefix.count)]) == prefix {
                var j = i + prefix.count, micro = 0, digits = 0
                while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57, digits < 3 {
                    micro = micro * 10 + Int(bytes[j] - 48); j += 1; digits += 1
                }
                if digits > 0, j < bytes.count, bytes[j] == 0 {
                    return UInt32(3) << 24 | UInt32(minor) << 16 | UInt32(micro) << 8 | 0xf0
                }
            }
            i += 1
        }
        return nil
    }
}
