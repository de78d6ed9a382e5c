/// An open-addressing index of ids (0, 1, 2…) by a 64-bit hash, with linear probing: for the
/// tables of raw stacks, symbolized stacks, folded lines and addresses, looked up millions of
/// times, where the standard Dictionary hashed every key with SipHash at each lookup and again
/// at each growth. The caller keeps the keys and says which id matches; the index holds the ids.
/// Inlinable: its callers are in other modules, and a call per probe would cost what it saves.
@frozen
public struct HashIndex: Sendable {
    /// id + 1; 0: an empty slot. At most half full.
    @usableFromInline var slots: [Int32]
    @usableFromInline var shift: UInt64

    /// Room for `capacity` ids without growing.
    @inlinable
    public init(capacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * capacity { bits += 1 }
        slots = Array(repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    /// The id with this hash that `matches`, else the slot where a new one goes (`insert`).
    @inlinable
    public func find(_ hash: UInt64, matches: (Int32) -> Bool) -> (id: Int32?, slot: Int) {
        var i = slot(hash)
        while slots[i] != 0 {
            let id = slots[i] - 1
            if matches(id) { return (id, i) }
            i = (i + 1) & (slots.count - 1)
        }
        return (nil, i)
    }

    /// Puts `id` (the count of ids before it) in the empty `slot` that `find` gave; `hash(id)`
    /// gives each id's hash again when the index grows.
    @inlinable
    public mutating func insert(_ id: Int32, at slot: Int, hash: (Int32) -> UInt64) {
        slots[slot] = id + 1
        let count = Int(id) + 1
        guard count * 2 > slots.count else { return }
        slots = Array(repeating: 0, count: slots.count * 2)
        shift -= 1
        for id in 0..<Int32(count) {
            var i = self.slot(hash(id))
            while slots[i] != 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = id + 1
        }
    }

    @inlinable
    func slot(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

}
