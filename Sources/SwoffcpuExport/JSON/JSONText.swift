/// Builds JSON text directly, without a tree of `JSONValue`s: for sections with hundreds of
/// thousands of small objects (the stacks of a big trace), where the tree's allocations
/// dominated the time and the memory of the report. Objects are written on one line each.
public struct JSONText: Sendable {
    public private(set) var text = ""
    private var needsComma: [Bool] = []

    public init(reservingCapacity bytes: Int = 0) {
        text.reserveCapacity(bytes)
    }

    public mutating func beginArray() { separate(); text += "["; needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); text += "]" }
    public mutating func beginObject() { separate(); text += "{"; needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); text += "}" }

    /// A line break before the next array element (pretty enough for big arrays).
    public mutating func newline() { text += "\n" }

    public mutating func key(_ name: String) {
        separate()
        JSONValue.writeString(name, to: &text)
        text += ":"
        needsComma[needsComma.count - 1] = false // the value follows the colon
    }

    public mutating func string(_ s: String) { separate(); JSONValue.writeString(s, to: &text) }
    public mutating func uint(_ v: UInt64) { separate(); text += String(v) }
    public mutating func int(_ v: Int64) { separate(); text += String(v) }

    public mutating func strings(_ values: [String]) {
        beginArray()
        for v in values { string(v) }
        endArray()
    }

    private mutating func separate() {
        guard let last = needsComma.last else { return }
        if last { text += "," }
        needsComma[needsComma.count - 1] = true
    }
}
