// swift-tools-version: 6.0
// swoffcpu: off-CPU and lock-contention tracer. One target a stage, data flowing one way
// (no target imports one to its right):
//
//   bpf/ programs -> SwoffcpuBPF (loader: TraceReport) -> SwoffcpuResolve (symbolized stacks,
//   named locks: ResolvedTrace) -> SwoffcpuExport (table, JSON, folded, flamegraph) -> swoffcpu (CLI)
//
// Under every stage: SwoffcpuCore (the report model, pure Swift, standard library only) and
// SwoffcpuSystem (the OS edge: /proc, signals, clocks, capabilities, atomic files).
// SwoffcpuSymbolizer (ELF, /proc maps, kallsyms, CFI, demangling) is the resolve stage's library.
// docs/architecture.md draws the same picture.
import PackageDescription

let package = Package(
    name: "swoffcpu",
    products: [
        .executable(name: "swoffcpu", targets: ["swoffcpu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // pprof's profile.proto (SwoffcpuExport/Pprof, docs/pprof.md).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libbpf, libelf, zlib (Debian: libbpf-dev libelf-dev zlib1g-dev), linked statically.
        .systemLibrary(name: "CLibBPF"),
        // glibc's malloc tuning (mallopt), for the CLI's report stage.
        .systemLibrary(name: "CMalloc"),
        // The libbpf skeleton (committed, generated from bpf/) and libbpf glue; the shared header bpf/swoffcpu.h.
        .target(name: "CSwoffcpuShims", dependencies: ["CLibBPF"]),
        // zlib's gzip (linked statically, as for libbpf), for the pprof file.
        .systemLibrary(name: "CZlib"),
        // The OS calls Swift cannot make by itself (signal flag, capget); used by SwoffcpuSystem alone.
        .target(name: "CSwoffcpuSystem"),

        // The OS edge: /proc readers, signals, clocks, capabilities, atomic files, threads.
        .target(name: "SwoffcpuSystem", dependencies: ["CSwoffcpuSystem"]),
        // Pure Swift, standard library only: states, thread records, the report model, stack data.
        .target(name: "SwoffcpuCore"),
        // Stage 1, the loader, the only Swift target that talks to libbpf: loads, seeds, dumps.
        .target(name: "SwoffcpuBPF", dependencies: ["CLibBPF", "CSwoffcpuShims", "SwoffcpuCore", "SwoffcpuSystem"]),
        // The resolve stage's library: /proc maps, ELF symbols, kallsyms, CFI, demangling.
        // Optimized in debug builds too: the tests run the debug binary, and unoptimized, building
        // a program's unwind tables after its exec took 180–250 ms instead of 40 (python3.11,
        // 74,000 rows), in which its stacks were walked without them (docs/unwinding.md).
        .target(name: "SwoffcpuSymbolizer", dependencies: ["SwoffcpuSystem"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Stage 2, resolve: a TraceReport and process snapshots into the model every exporter reads.
        .target(name: "SwoffcpuResolve", dependencies: ["SwoffcpuCore", "SwoffcpuSymbolizer", "SwoffcpuSystem"]),
        // Stage 3, export: table, JSON, top stacks, folded, flamegraph, lock report.
        .target(name: "SwoffcpuExport", dependencies: [
            "CZlib", "SwoffcpuCore", "SwoffcpuResolve", "SwoffcpuSystem",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // Stage 4, the CLI: options -> session -> resolve -> outputs.
        .executableTarget(
            name: "swoffcpu",
            dependencies: [
                "CMalloc", "SwoffcpuBPF", "SwoffcpuCore", "SwoffcpuExport", "SwoffcpuResolve", "SwoffcpuSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Test support (not shipped): the state machine as pure Swift (Accountant), named samples,
        // scratch directories and a local HTTP server (the debuginfod tests).
        .target(name: "SwoffcpuTestSupport", dependencies: ["SwoffcpuCore", "SwoffcpuResolve", "SwoffcpuExport"],
                path: "Tests/SwoffcpuTestSupport"),
        .testTarget(name: "SwoffcpuCoreTests", dependencies: ["SwoffcpuCore", "SwoffcpuTestSupport"]),
        .testTarget(name: "SwoffcpuSystemTests", dependencies: ["SwoffcpuSystem", "SwoffcpuTestSupport"]),
        // The loader's pure parts (the load plan): no BPF loaded, no root.
        .testTarget(name: "SwoffcpuBPFTests", dependencies: ["SwoffcpuBPF"]),
        .testTarget(name: "SwoffcpuResolveTests",
                    dependencies: ["SwoffcpuResolve", "SwoffcpuCore", "SwoffcpuSymbolizer", "SwoffcpuTestSupport"]),
        .testTarget(name: "SwoffcpuExportTests",
                    dependencies: ["SwoffcpuExport", "SwoffcpuResolve", "SwoffcpuCore", "SwoffcpuSystem", "SwoffcpuTestSupport"],
                    exclude: ["Golden"]),
        // Fixture sources (*.c.txt, …) are compiled by the tests at run time.
        .testTarget(name: "SwoffcpuSymbolizerTests", dependencies: ["SwoffcpuSymbolizer", "SwoffcpuTestSupport"],
                    exclude: ["Fixtures"]),
        // Root only: loads the real BPF programs against workloads built by the tests.
        .testTarget(
            name: "SwoffcpuIntegrationTests",
            dependencies: ["SwoffcpuBPF", "SwoffcpuCore", "SwoffcpuResolve", "SwoffcpuExport", "SwoffcpuSystem",
                           "SwoffcpuTestSupport"],
            resources: [.copy("Workloads")]
        ),
    ]
)
