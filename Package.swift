// swift-tools-version: 6.0
// swoffcpu: off-CPU and lock-contention tracer. One target a layer, data flowing one way:
//   BPF maps -> SwoffcpuBPF (loader) -> SwoffcpuCore (accounting, report model)
//   -> SwoffcpuSymbolizer -> SwoffcpuExport (table, JSON, folded, flamegraph) -> swoffcpu (CLI).
import PackageDescription

let package = Package(
    name: "swoffcpu",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swoffcpu", targets: ["swoffcpu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libbpf, libelf, zlib (Debian: libbpf-dev libelf-dev zlib1g-dev), linked statically.
        .systemLibrary(name: "CLibBPF"),
        // glibc's malloc tuning (mallopt), for the CLI's report stage.
        .systemLibrary(name: "CMalloc"),
        // Small C helpers around libbpf (varargs logging, opts structs) and the shared header bpf/swoffcpu.h.
        .target(name: "CSwoffcpuShims", dependencies: ["CLibBPF"]),
        // The only Swift target that talks to libbpf: loads the embedded BPF object, seeds, dumps.
        .target(name: "SwoffcpuBPF", dependencies: ["CLibBPF", "CSwoffcpuShims", "SwoffcpuCore"]),
        // Pure Swift, standard library only: states, accounting model, report model.
        .target(name: "SwoffcpuCore"),
        // Pure Swift: /proc maps, ELF symbols, kallsyms, demangling.
        .target(name: "SwoffcpuSymbolizer"),
        // Table, JSON, folded stacks, flamegraph. Depends on Core alone.
        .target(name: "SwoffcpuExport", dependencies: ["SwoffcpuCore"]),
        .executableTarget(
            name: "swoffcpu",
            dependencies: [
                "CMalloc", "SwoffcpuBPF", "SwoffcpuCore", "SwoffcpuExport", "SwoffcpuSymbolizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SwoffcpuCoreTests", dependencies: ["SwoffcpuCore"]),
        .testTarget(name: "SwoffcpuExportTests", dependencies: ["SwoffcpuExport", "SwoffcpuCore"], exclude: ["Golden"]),
        // Fixture sources (*.c.txt, …) are compiled by the tests at run time.
        .testTarget(name: "SwoffcpuSymbolizerTests", dependencies: ["SwoffcpuSymbolizer"], exclude: ["Fixtures"]),
        // Root only: loads the real BPF programs against workloads built by the tests.
        .testTarget(
            name: "SwoffcpuIntegrationTests",
            dependencies: ["SwoffcpuBPF", "SwoffcpuCore", "SwoffcpuExport"],
            resources: [.copy("Workloads")]
        ),
    ]
)
