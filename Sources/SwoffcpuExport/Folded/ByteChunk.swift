/// A fixed buffer that a big text is written into, piece by piece, and handed on a chunk at a
/// time: the folded file of 100,000 stacks is 60 MB in five million pieces, and `Array`'s
/// checks on every append (uniqueness, capacity) were most of the time it took. Callers make
/// sure of the room before they append (`room`).
struct ByteChunk {
    private let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Runs `body` with an empty chunk of `capacity` bytes, freed after it.
    static func with<R>(capacity: Int, _ body: (inout ByteChunk) throws -> R) rethrows -> R {
        let base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { base.deallocate() }
        var chunk = ByteChunk(base: base, capacity: capacity)
        return try body(&chunk)
    }

    var room: Int { capacity - count }

    mutating func append(_ byte: UInt8) {
        assert(count < capacity)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        assert(bytes.count <= room)
        guard let from = bytes.baseAddress else { return }
        (base + count).update(from: from, count: bytes.count)
        count += bytes.count
    }

    /// The decimal digits of `value` (at most 20 bytes).
    mutating func appendDecimal(_ value: UInt64) {
        assert(room >= 20)
        count += Self.writeDecimal(value, to: base + count)
    }

    /// Writes the decimal digits of `value` at `to`, as `String(value)` would, and returns
    /// how many (at most 20): millions of numbers are written without a String each.
    static func writeDecimal(_ value: UInt64, to: UnsafeMutablePointer<UInt8>) -> Int {
        var digits = 1, v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            to[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        return digits
    }

    /// The bytes written since the last `take`, and an empty chunk again.
    mutating func take() -> [UInt8] {
        defer { count = 0 }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }
}
