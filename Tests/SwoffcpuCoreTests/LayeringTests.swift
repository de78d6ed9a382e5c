import Foundation
import Testing

/// The package's one-way flow, checked on the sources: BPF programs → loader (SwoffcpuBPF) →
/// resolve (SwoffcpuResolve, with its library SwoffcpuSymbolizer) → exporters (SwoffcpuExport)
/// → CLI (swoffcpu), over SwoffcpuCore (the model) and SwoffcpuSystem (the OS edge). No target
/// imports one to its right, and only SwoffcpuSystem makes the OS calls it wraps.
@Suite struct LayeringTests {
    /// The project's modules each target may import (other modules: Glibc, Foundation,
    /// Dispatch, the package dependencies, are not the layering's business).
    static let allowed: [String: Set<String>] = [
        "SwoffcpuCore": [],
        "CSwoffcpuSystem": [],
        "SwoffcpuSystem": ["CSwoffcpuSystem"],
        "SwoffcpuBPF": ["CLibBPF", "CSwoffcpuShims", "SwoffcpuCore", "SwoffcpuSystem"],
        "SwoffcpuSymbolizer": ["SwoffcpuSystem"],
        "SwoffcpuResolve": ["SwoffcpuCore", "SwoffcpuSymbolizer", "SwoffcpuSystem"],
        "SwoffcpuExport": ["SwoffcpuCore", "SwoffcpuResolve", "SwoffcpuSystem"],
        "swoffcpu": ["CMalloc", "SwoffcpuBPF", "SwoffcpuCore", "SwoffcpuResolve", "SwoffcpuExport", "SwoffcpuSystem"],
    ]
    static let projectModules: Set<String> = Set(allowed.keys).union(["CLibBPF", "CSwoffcpuShims", "CMalloc"])

    /// Calls that belong to SwoffcpuSystem alone: signals, clocks, capabilities, terminals,
    /// this process's memory.
    static let systemCalls = ["isatty(", "clock_gettime(", "nanosleep(", "sigaction(", "swoffcpu_install_stop_signals",
                              "swoffcpu_stop_signal", "swoffcpu_effective_caps", "/proc/self/status",
                              "FileHandle.standardError", "swoffcpu_http_get"]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized
    }

    static func swiftFiles(of target: String) throws -> [URL] {
        let dir = sources.appendingPathComponent(target)
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    /// Checks that each target imports only the project modules to its left.
    @Test func importsFlowOneWay() throws {
        for (target, allowed) in Self.allowed where !target.hasPrefix("C") {
            let files = try Self.swiftFiles(of: target)
            #expect(!files.isEmpty, "no sources found for \(target)")
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let i = words.firstIndex(of: "import"), i == 0 || words[0].hasPrefix("@") else { continue }
                    guard i + 1 < words.count else { continue }
                    let module = String(words[i + 1])
                    guard Self.projectModules.contains(module) else { continue }
                    #expect(allowed.contains(module), "\(target)/\(file.lastPathComponent) imports \(module)")
                }
            }
        }
    }

    /// Checks that signals, clocks, capabilities and terminals are reached through SwoffcpuSystem.
    @Test func osCallsOnlyInTheSystemTarget() throws {
        for target in Self.allowed.keys where !target.hasPrefix("C") && target != "SwoffcpuSystem" {
            for file in try Self.swiftFiles(of: target) {
                let text = try String(contentsOf: file, encoding: .utf8)
                for call in Self.systemCalls {
                    #expect(!text.contains(call), "\(target)/\(file.lastPathComponent) calls \(call)")
                }
            }
        }
    }
}
