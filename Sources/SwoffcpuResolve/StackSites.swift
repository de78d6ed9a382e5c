import SwoffcpuSymbolizer

/// The addresses behind the symbolized stacks, for exporters that keep them (pprof): per stack
/// of `SymbolizedStacks.table`, one site per frame, in the same order (leaf first), each an
/// address and the mapping that holds it. Stacks of names only (markers such as
/// `[not sampled]`) have no sites.
///
/// A stack id stands for a sequence of names: two walks with different addresses that name
/// the same functions share an id, and keep the sites of the first one symbolized.
public struct StackSites: Sendable {
    /// A mapping of a traced process (the symbolizer's `AddressMapping`), for the exporters.
    public typealias Mapping = AddressMapping

    public struct Site: Hashable, Sendable {
        /// The instruction address; for a caller's frame, the return address minus one (inside
        /// the call instruction, where a symbolizer finds the caller's line).
        public var address: UInt64
        /// Index into `mappings`, -1 when no mapping holds the address.
        public var mapping: Int32

        public init(address: UInt64, mapping: Int32) {
            self.address = address
            self.mapping = mapping
        }
    }

    /// Distinct mappings, in the order first seen. Kernel addresses share one mapping,
    /// `[kernel.kallsyms]`.
    public private(set) var mappings: [AddressMapping] = []
    private var mappingIndex: [AddressMapping: Int32] = [:]
    /// Sites by stack id.
    public private(set) var sites: [Int32: [Site]] = [:]

    public init() {}

    /// The pseudo mapping of kernel addresses.
    public static let kernelMapping = AddressMapping(start: 0xffff_8000_0000_0000, end: .max, fileOffset: 0,
                                                     path: "[kernel.kallsyms]", buildID: nil)

    /// The index of a mapping, added if new.
    public mutating func index(of mapping: AddressMapping) -> Int32 {
        if let i = mappingIndex[mapping] { return i }
        let i = Int32(mappings.count)
        mappings.append(mapping)
        mappingIndex[mapping] = i
        return i
    }

    /// Records the sites of a stack, unless it has some already.
    public mutating func set(_ stack: Int32, _ stackSites: [Site]) {
        if sites[stack] == nil { sites[stack] = stackSites }
    }

    /// The sites of a user stack, leaf first, its addresses as walked (return addresses after
    /// the leaf, adjusted here).
    mutating func user(_ ips: [UInt64], symbols: ProcessSymbols) -> [Site] {
        ips.enumerated().map { i, ip in
            let address = symbols.isReturnAddress(at: i) && ip > 0 ? ip - 1 : ip
            return Site(address: address, mapping: symbols.mapping(containing: address).map { index(of: $0) } ?? -1)
        }
    }

    /// The sites of a kernel stack, leaf first.
    mutating func kernel(_ ips: [UInt64]) -> [Site] {
        let mapping = index(of: Self.kernelMapping)
        return ips.enumerated().map { i, ip in Site(address: i > 0 && ip > 0 ? ip - 1 : ip, mapping: mapping) }
    }
}
