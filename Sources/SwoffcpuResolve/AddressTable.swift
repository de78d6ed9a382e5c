import SwoffcpuCore

/// Int32 values keyed by 64-bit addresses, found through a `HashIndex`. Symbolizing 100,000
/// stacks looks up two million addresses; the standard Dictionary, which hashes each key with
/// SipHash, was a third of that time.
struct AddressTable {
    private var keys: [UInt64] = []
    private var values: [Int32] = []
    private var index = HashIndex(capacity: 1024)

    subscript(key: UInt64) -> Int32? {
        get {
            index.find(key, matches: { keys[Int($0)] == key }).id.map { values[Int($0)] }
        }
        set {
            guard let value = newValue else { preconditionFailure("AddressTable keeps what it was given") }
            let found = index.find(key, matches: { keys[Int($0)] == key })
            if let i = found.id {
                values[Int(i)] = value
                return
            }
            keys.append(key)
            values.append(value)
            index.insert(Int32(keys.count - 1), at: found.slot) { keys[Int($0)] }
        }
    }
}
