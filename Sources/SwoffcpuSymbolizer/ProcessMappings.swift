/// Where an address of a process lies: the mapping of /proc/PID/maps that holds it and the
/// GNU build-id of the file mapped there. What a profile needs to let a server symbolize its
/// addresses again (pprof's `Mapping`: memory range, file offset, file name, build-id).
public struct AddressMapping: Hashable, Sendable {
    /// The mapping's range and the file offset of `start`.
    public var start: UInt64
    public var end: UInt64
    public var fileOffset: UInt64
    /// The mapped file's path, or a pseudo name (`[vdso]`, `[anon]`, `[heap]`).
    public var path: String
    /// The build-id in lower-case hex, when the file has one.
    public var buildID: String?

    public init(start: UInt64, end: UInt64, fileOffset: UInt64, path: String, buildID: String?) {
        self.start = start
        self.end = end
        self.fileOffset = fileOffset
        self.path = path
        self.buildID = buildID
    }
}

extension ProcessSymbols {
    /// The mapping holding `address` in this snapshot, nil when none does.
    public func mapping(containing address: UInt64) -> AddressMapping? {
        guard let i = mappingIndex(address) else { return nil }
        let m = mappings[i]
        let path = m.entry.isFileBacked ? m.entry.path : (m.name.isEmpty ? "[anon]" : m.name)
        return AddressMapping(start: m.entry.start, end: m.entry.end, fileOffset: m.entry.offset, path: path,
                              buildID: m.module?.buildIDHex)
    }
}
