import Foundation
import SwoffcpuCore
import SwoffcpuResolve
import SwoffcpuSystem

/// Writes the stacks of a trace as a pprof profile (`profile.proto`, gzip-compressed): what
/// `go tool pprof`, Pyroscope, Parca and Grafana read. See docs/pprof.md.
///
/// Sample types, all in nanoseconds: `on_cpu`, `runnable`, `sleep` (D included, as in the
/// table), `blocked`, and `off_cpu`, the sum of the three off-CPU ones and the default. Each
/// sample is one (thread, state, stack) of the folded file with its exact time: its own
/// state's value and, when off-CPU, `off_cpu` set, the others zero. So `-sample_index=blocked`
/// totals the table's blocked column, `-sample_index=off_cpu` its off-CPU time. Labels:
/// `thread_id`, `thread_name`, `process_id`, `state` (the folded root: `on-cpu`, `runnable`,
/// `sleep`, `sleep-d`, `blocked`).
///
/// Locations carry their addresses and mappings (file, range, offset, build-id), so a server
/// can symbolize again; their one line names the function swoffcpu found (the symbolizer reads
/// ELF symbols, not DWARF: no inlined frames, no file names or line numbers).
public struct PprofWriter: Sendable {
    public struct Options: Sendable {
        /// Wall-clock time of the window's start, ns since the Unix epoch (`time_nanos`).
        public var timeNanos: Int64
        /// Free-text comments (`comment`).
        public var comments: [String]

        public init(timeNanos: Int64 = 0, comments: [String] = []) {
            self.timeNanos = timeNanos
            self.comments = comments
        }
    }

    /// The sample types, in order; the state each one counts (nil: `off_cpu`, all off-CPU states).
    public static let sampleTypes: [(name: String, states: [ThreadState])] = [
        ("on_cpu", [.onCPU]), ("runnable", [.runnable]), ("sleep", [.sleep, .sleepUninterruptible]),
        ("blocked", [.blocked]), ("off_cpu", [.runnable, .sleep, .sleepUninterruptible, .blocked]),
    ]
    public static let defaultSampleType = "off_cpu"

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// The wall-clock time (ns since the epoch) of a CLOCK_MONOTONIC instant of this boot.
    public static func epochNanos(ofMonotonic ns: UInt64) -> Int64 {
        let realNs = Int64(clamping: Clock.realtimeNs()), monoNs = Int64(clamping: Clock.monotonicNs())
        return realNs - (monoNs - Int64(clamping: ns))
    }

    /// The profile message.
    func profile(_ trace: ResolvedTrace) -> Perftools_Profiles_Profile {
        var builder = PprofBuilder(stacks: trace.stacks)
        var profile = Perftools_Profiles_Profile()
        profile.sampleType = Self.sampleTypes.map { builder.valueType($0.name, "nanoseconds") }
        profile.defaultSampleType = builder.string(Self.defaultSampleType)
        profile.periodType = builder.valueType("wall", "nanoseconds")
        profile.timeNanos = options.timeNanos
        profile.durationNanos = Int64(clamping: trace.report.windowNs)
        profile.comment = options.comments.map { builder.string($0) }

        var tgidOf: [Int32: Int32] = [:]
        for p in trace.report.processes { for t in p.threads { tgidOf[t.tid] = t.tgid } }
        let keys = (thread: builder.string("thread_id"), name: builder.string("thread_name"),
                    process: builder.string("process_id"), state: builder.string("state"))
        let stateNames = ThreadState.allCases.map { builder.string($0.name) }
        let columns = ThreadState.allCases.map { state in
            Self.sampleTypes.indices.filter { Self.sampleTypes[$0].states.contains(state) }
        }
        profile.sample.reserveCapacity(trace.stacks.samples.count)
        for s in trace.stacks.samples where s.valueNs > 0 {
            var sample = Perftools_Profiles_Sample()
            sample.locationID = builder.locations(user: s.userStack, kernel: s.kernelStack)
            var values = [Int64](repeating: 0, count: Self.sampleTypes.count)
            for c in columns[s.state.rawValue] { values[c] = Int64(clamping: s.valueNs) }
            sample.value = values
            sample.label = [
                Self.label(keys.thread, num: Int64(s.tid)),
                Self.label(keys.name, str: builder.string(s.comm)),
                Self.label(keys.process, num: Int64(tgidOf[s.tid] ?? s.tid)),
                Self.label(keys.state, str: stateNames[s.state.rawValue]),
            ]
            profile.sample.append(sample)
        }
        builder.finish(into: &profile)
        return profile
    }

    private static func label(_ key: Int64, str: Int64) -> Perftools_Profiles_Label {
        var l = Perftools_Profiles_Label()
        l.key = key
        l.str = str
        return l
    }

    private static func label(_ key: Int64, num: Int64) -> Perftools_Profiles_Label {
        var l = Perftools_Profiles_Label()
        l.key = key
        l.num = num
        return l
    }

    /// The serialized profile, gzip-compressed.
    public func data(_ trace: ResolvedTrace) throws -> [UInt8] {
        let bytes: [UInt8] = try profile(trace).serializedBytes()
        return try Gzip.compress(bytes)
    }

    /// Writes the gzip'd profile atomically to `path` (`-`: standard output).
    public func write(_ trace: ResolvedTrace, to path: String) throws {
        try AtomicFile.write(try data(trace), to: path)
    }
}

/// The tables of a profile being built: strings, functions, locations and mappings, each
/// added once.
struct PprofBuilder {
    let stacks: SymbolizedStacks
    private var strings: [String] = [""]
    private var stringIndex: [String: Int64] = ["": 0]
    private var functions: [Perftools_Profiles_Function] = []
    private var functionIndex: [String: UInt64] = [:]
    private var locations: [Perftools_Profiles_Location] = []
    private var locationIndex: [LocationKey: UInt64] = [:]
    /// pprof mapping ids by `StackSites` mapping index (0: not made yet).
    private var mappingIDs: [UInt64]
    private var mappings: [Perftools_Profiles_Mapping] = []
    /// The location ids of each (user stack, kernel stack) pair, made once.
    private var stackLocations: [UInt64: [UInt64]] = [:]

    private struct LocationKey: Hashable {
        var address: UInt64
        var mapping: UInt64
        var function: UInt64
    }

    init(stacks: SymbolizedStacks) {
        self.stacks = stacks
        mappingIDs = Array(repeating: 0, count: stacks.sites.mappings.count)
    }

    mutating func string(_ s: String) -> Int64 {
        if let i = stringIndex[s] { return i }
        let i = Int64(strings.count)
        strings.append(s)
        stringIndex[s] = i
        return i
    }

    mutating func valueType(_ type: String, _ unit: String) -> Perftools_Profiles_ValueType {
        var v = Perftools_Profiles_ValueType()
        v.type = string(type)
        v.unit = string(unit)
        return v
    }

    private mutating func function(_ name: String) -> UInt64 {
        if let id = functionIndex[name] { return id }
        var f = Perftools_Profiles_Function()
        f.id = UInt64(functions.count + 1)
        f.name = string(name)
        f.systemName = f.name
        functions.append(f)
        functionIndex[name] = f.id
        return f.id
    }

    private mutating func mapping(_ index: Int32) -> UInt64 {
        guard index >= 0 else { return 0 }
        if mappingIDs[Int(index)] != 0 { return mappingIDs[Int(index)] }
        let m = stacks.sites.mappings[Int(index)]
        var p = Perftools_Profiles_Mapping()
        p.id = UInt64(mappings.count + 1)
        p.memoryStart = m.start
        p.memoryLimit = m.end
        p.fileOffset = m.fileOffset
        p.filename = string(m.path)
        p.buildID = string(m.buildID ?? "")
        p.hasFunctions_p = true
        mappings.append(p)
        mappingIDs[Int(index)] = p.id
        return p.id
    }

    private mutating func location(name: String, site: StackSites.Site?) -> UInt64 {
        let functionID = function(name)
        let mappingID = site.map { mapping($0.mapping) } ?? 0
        let key = LocationKey(address: site?.address ?? 0, mapping: mappingID, function: functionID)
        if let id = locationIndex[key] { return id }
        var l = Perftools_Profiles_Location()
        l.id = UInt64(locations.count + 1)
        l.mappingID = mappingID
        l.address = key.address
        var line = Perftools_Profiles_Line()
        line.functionID = functionID
        l.line = [line]
        locations.append(l)
        locationIndex[key] = l.id
        return l.id
    }

    /// The location ids of a sample, leaf first: the kernel frames, then the user frames.
    mutating func locations(user: Int32, kernel: Int32) -> [UInt64] {
        let pair = UInt64(UInt32(bitPattern: user)) << 32 | UInt64(UInt32(bitPattern: kernel))
        if let ids = stackLocations[pair] { return ids }
        var ids: [UInt64] = []
        for stack in [kernel, user] {
            let names = stacks.table.names(stack)
            let sites = stacks.sites.sites[stack].flatMap { $0.count == names.count ? $0 : nil }
            for (i, name) in names.enumerated() {
                ids.append(location(name: name.isEmpty ? FoldedWriter.unknownFrame : name, site: sites?[i]))
            }
        }
        stackLocations[pair] = ids
        return ids
    }

    /// Puts the tables into the profile. The main binary's mapping goes first, as pprof
    /// expects of mapping[0]: the file-backed mapping at the lowest address (an executable is
    /// mapped below its libraries), ids renumbered.
    mutating func finish(into profile: inout Perftools_Profiles_Profile) {
        let files = mappings.indices.filter { !strings[Int(mappings[$0].filename)].hasPrefix("[") }
        if let main = files.min(by: { mappings[$0].memoryStart < mappings[$1].memoryStart }), main > 0 {
            var order = Array(mappings.indices)
            order.remove(at: main)
            order.insert(main, at: 0)
            var newID = [UInt64](repeating: 0, count: mappings.count + 1)
            for (n, old) in order.enumerated() { newID[Int(mappings[old].id)] = UInt64(n + 1) }
            mappings = order.map { var m = mappings[$0]; m.id = newID[Int(m.id)]; return m }
            for i in locations.indices where locations[i].mappingID != 0 {
                locations[i].mappingID = newID[Int(locations[i].mappingID)]
            }
        }
        profile.mapping = mappings
        profile.location = locations
        profile.function = functions
        profile.stringTable = strings
    }
}
