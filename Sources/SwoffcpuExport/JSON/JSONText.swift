/// Builds JSON text directly, as UTF-8 bytes, without a tree of `JSONValue`s: for sections
/// with hundreds of thousands of small objects (the stacks of a big trace), where the tree's
/// allocations dominated the time and the memory of the report. Objects are written on one
/// line each.
public struct JSONText: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []
    /// A line break asked for, written after the comma that separates the next element.
    private var lineBreak = false

    public init(reservingCapacity count: Int = 0) {
        bytes.reserveCapacity(count)
    }

    /// The text (for tests and small sections).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The bytes written so far, leaving none (where the writing is in an array or an object
    /// stays as it was).
    public mutating func take() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { breakLine(); needsComma.removeLast(); bytes.append(UInt8(ascii: "]")) }
    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { breakLine(); needsComma.removeLast(); bytes.append(UInt8(ascii: "}")) }

    /// A line break before the next array element, after its comma (pretty enough for big
    /// arrays), or before the closing bracket.
    public mutating func newline() { lineBreak = true }

    public mutating func key(_ name: String) {
        separate()
        JSONValue.writeString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false // the value follows the colon
    }

    public mutating func string(_ s: String) { separate(); JSONValue.writeString(s, to: &bytes) }
    public mutating func uint(_ v: UInt64) { separate(); bytes.appendDecimal(v) }
    public mutating func int(_ v: Int64) {
        separate()
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.appendDecimal(v.magnitude)
    }

    /// An element (or value) that `write` appends as UTF-8, valid JSON by itself: for the
    /// hundreds of thousands of small objects of a big section, written from constant parts.
    public mutating func element(_ write: (inout [UInt8]) -> Void) {
        separate()
        write(&bytes)
    }

    public mutating func strings(_ values: [String]) {
        beginArray()
        for v in values { string(v) }
        endArray()
    }

    private mutating func separate() {
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            needsComma[needsComma.count - 1] = true
        }
        breakLine()
    }

    private mutating func breakLine() {
        if lineBreak { bytes.append(UInt8(ascii: "\n")) }
        lineBreak = false
    }
}
