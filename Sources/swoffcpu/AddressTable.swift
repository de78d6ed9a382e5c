/// Int32 values keyed by 64-bit addresses: an open-addressing table with a multiplicative
/// hash. Symbolizing 100,000 stacks looks up two million addresses; the standard Dictionary,
/// which hashes each key with SipHash, was a third of that time.
struct AddressTable {
    private var keys: [UInt64]
    /// -1: an empty slot.
    private var values: [Int32]
    private var count = 0
    private var shift: UInt64

    init() {
        keys = Array(repeating: 0, count: 1024)
        values = Array(repeating: -1, count: 1024)
        shift = 64 - 10
    }

    subscript(key: UInt64) -> Int32? {
        get {
            var i = slot(key)
            while values[i] >= 0 {
                if keys[i] == key { return values[i] }
                i = (i + 1) & (keys.count - 1)
            }
            return nil
        }
        set {
            guard let value = newValue, value >= 0 else { preconditionFailure("AddressTable stores values >= 0") }
            if (count + 1) * 4 > keys.count * 3 { grow() }
            var i = slot(key)
            while values[i] >= 0 {
                if keys[i] == key { values[i] = value; return }
                i = (i + 1) & (keys.count - 1)
            }
            keys[i] = key
            values[i] = value
            count += 1
        }
    }

    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    private mutating func grow() {
        let (oldKeys, oldValues) = (keys, values)
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: -1, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for (key, value) in zip(oldKeys, oldValues) where value >= 0 { self[key] = value }
    }
}
