/// One symbolized stack frame.
///
/// `name` is always printable: the (demangled) function name when `resolved`, otherwise a
/// fallback such as `libc.so.6+0x8f2a0` (module + ELF virtual address), `[vdso]+0x9d0`,
/// `[anon]+0x7f12a000` or `[unknown]+0xdeadbeef` (absolute address). Frames are never dropped.
public struct Frame: Hashable, Sendable, CustomStringConvertible {
    /// Demangled function name, or the fallback string when not resolved.
    public var name: String
    /// File basename (`libc.so.6`), `[vdso]`, `[jit]`, `[anon]`, `[heap]`…, or for kernel frames
    /// `[kernel.kallsyms]` / `[module]` (e.g. `[ext4]`, `[bpf]`). `nil` for unknown addresses.
    public var module: String?
    /// When `resolved`: the address minus the symbol start (so `name+0xoffset` is the exact spot).
    /// When not resolved: the offset inside `module` printed in `name` (ELF virtual address if the
    /// ELF headers could be read, file offset otherwise), or the absolute address without a module.
    public var offset: UInt64
    public var isKernel: Bool
    /// True when `name` is a real symbol name (ELF symbol, perf map entry, kallsyms entry).
    public var resolved: Bool
    /// Kernel frame inside a BPF program or trampoline (`bpf_prog_*`, `bpf_trampoline_*`, `[bpf]`).
    /// The profiler drops these: they are its own frames.
    public var isBPF: Bool

    public init(name: String, module: String?, offset: UInt64, isKernel: Bool, resolved: Bool, isBPF: Bool = false) {
        self.name = name
        self.module = module
        self.offset = offset
        self.isKernel = isKernel
        self.resolved = resolved
        self.isBPF = isBPF
    }

    /// The display string: the function name, or the fallback `module+0xOFFSET`.
    public var description: String { name }

    /// `name+0xoffset` for resolved frames (handy in debugging output), `name` otherwise.
    public var nameWithOffset: String {
        resolved ? "\(name)+0x\(String(offset, radix: 16))" : name
    }

    static func unknown(_ address: UInt64, isKernel: Bool) -> Frame {
        Frame(name: "[unknown]+0x\(String(address, radix: 16))", module: nil, offset: address,
              isKernel: isKernel, resolved: false)
    }
}

/// How demangled names are printed.
public enum NameStyle: Sendable, Hashable {
    /// Everything the demangler prints: `ns::inner::twice<int>(int)`,
    /// `Fixture.Worker.deepWork(count: Swift.Int) -> Swift.Int`.
    case full
    /// Drops parameter lists and return types (best effort): `ns::inner::twice<int>`,
    /// `Fixture.Worker.deepWork(count:)` (Swift keeps argument labels, as `swift demangle --simplified`).
    case noArguments
}

public struct SymbolizerOptions: Sendable {
    /// Demangle Swift, C++ and Rust names. When false, raw symbol names are returned.
    public var demangle: Bool = true
    public var nameStyle: NameStyle = .full
    /// Roots searched for separate debug files: `<dir>/.build-id/xx/yyyy.debug` and
    /// `<dir>/<binary dir>/<debuglink>`. Each is also tried under `/proc/PID/root`.
    public var debugDirectories: [String] = ["/usr/lib/debug"]
    /// Look for separate debug files when a binary has no `.symtab`.
    public var useDebugFiles: Bool = true
    /// Read `/tmp/perf-PID.map` (JIT symbols) at snapshot time.
    public var usePerfMaps: Bool = true
    /// In `symbolize(_ stack:)`, look up every frame but the leaf at `address - 1`: those are return
    /// addresses, which may point just past the end of the calling function (noreturn calls).
    public var adjustReturnAddresses: Bool = true
    /// In `KernelSymbols.symbolize(_ stack:)`, drop frames of BPF programs and trampolines.
    public var dropBPFFrames: Bool = true
    /// Read the `[vdso]` image of the target from `/proc/PID/mem` (falls back to our own vdso,
    /// which is the same kernel's image).
    public var readVDSO: Bool = true
    /// Fetch missing debug files from debuginfod servers (`Debuginfod`): by default as the
    /// environment says (`DEBUGINFOD_URLS`); nil, never.
    public var debuginfod: DebuginfodConfig? = DebuginfodConfig.fromEnvironment()

    public init() {}

    public init(demangle: Bool = true, nameStyle: NameStyle = .full, debugDirectories: [String] = ["/usr/lib/debug"],
                useDebugFiles: Bool = true, usePerfMaps: Bool = true, adjustReturnAddresses: Bool = true,
                dropBPFFrames: Bool = true, readVDSO: Bool = true) {
        self.demangle = demangle
        self.nameStyle = nameStyle
        self.debugDirectories = debugDirectories
        self.useDebugFiles = useDebugFiles
        self.usePerfMaps = usePerfMaps
        self.adjustReturnAddresses = adjustReturnAddresses
        self.dropBPFFrames = dropBPFFrames
        self.readVDSO = readVDSO
    }
}

/// Everything the symbolizer can throw. Per-file problems inside a snapshot are not thrown: the
/// file's frames fall back to `module+0xOFFSET` and the problem is listed in `ProcessSymbols.problems`.
public enum SymbolizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `/proc/PID` is gone (or never existed).
    case processNotFound(pid: Int32)
    /// open/read/pread/fstat failed; `errno` is the C errno.
    case io(path: String, errno: Int32)
    /// Not an ELF file, or not a 64-bit little-endian one.
    case notELF(path: String)
    case unsupportedELF(path: String, reason: String)
    /// A header, table or string points outside the file.
    case malformedELF(path: String, reason: String)
    /// `/proc/kallsyms` shows only zero addresses (kptr_restrict, not root).
    case kernelAddressesHidden
    case malformedInput(what: String, reason: String)
    /// A file the traced process named that is not used: a JIT map not owned by its user or
    /// root, or not a regular file (docs/symbolization.md).
    case untrusted(path: String, why: String)

    public var description: String {
        switch self {
        case .processNotFound(let pid): return "process \(pid) not found"
        case .io(let path, let e): return "\(path): I/O error \(e) (\(String(cString: strerror(e))))"
        case .notELF(let path): return "\(path): not an ELF file"
        case .unsupportedELF(let path, let reason): return "\(path): unsupported ELF: \(reason)"
        case .malformedELF(let path, let reason): return "\(path): malformed ELF: \(reason)"
        case .kernelAddressesHidden: return "/proc/kallsyms addresses are hidden (kptr_restrict; run as root)"
        case .malformedInput(let what, let reason): return "\(what): \(reason)"
        case .untrusted(let path, let why): return "\(path): not used: \(why)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
