import CLibBPF
import Glibc

/// Reads a whole BPF hash map in batches, handing each batch's keys and values to a body that
/// decodes them: the stack maps hold 1 KiB a stack (170 MB for 110,000 user stacks with their
/// leaf contexts), which need not be copied whole before being decoded into the few frames
/// each stack has. One buffer of `batch` entries is reused throughout.
enum MapDump {
    /// Calls `body(keys, values, count)` for each batch, until every entry was read.
    static func read(fd: Int32, keySize: Int, valueSize: Int, batch: Int = 4096,
                     _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int) -> Void) throws {
        var capacity = batch
        var keys = UnsafeMutableRawPointer.allocate(byteCount: capacity * keySize, alignment: 8)
        var values = UnsafeMutableRawPointer.allocate(byteCount: capacity * valueSize, alignment: 8)
        defer {
            keys.deallocate()
            values.deallocate()
        }
        var opts = bpf_map_batch_opts()
        opts.sz = MemoryLayout<bpf_map_batch_opts>.size
        // The position in the map (a bucket index for hash maps), opaque to user space.
        var position: UInt64 = 0, next: UInt64 = 0
        var first = true
        while true {
            var count = UInt32(capacity)
            let err = first ? bpf_map_lookup_batch(fd, nil, &next, keys, values, &count, &opts)
                : bpf_map_lookup_batch(fd, &position, &next, keys, values, &count, &opts)
            let error = err == 0 ? 0 : errno
            if error == ENOSPC && count == 0 {
                // One bucket holds more entries than the buffer: grow it and read the bucket again.
                capacity *= 2
                keys.deallocate()
                values.deallocate()
                keys = UnsafeMutableRawPointer.allocate(byteCount: capacity * keySize, alignment: 8)
                values = UnsafeMutableRawPointer.allocate(byteCount: capacity * valueSize, alignment: 8)
                continue
            }
            // Hash maps have batch operations since Linux 5.6 (swoffcpu needs 5.18).
            if error != 0 && error != ENOENT { throw BPFError("reading the kernel's maps", errno: error) }
            body(UnsafeRawBufferPointer(start: keys, count: Int(count) * keySize),
                 UnsafeRawBufferPointer(start: values, count: Int(count) * valueSize), Int(count))
            if error == ENOENT { return } // that was the last batch
            position = next
            first = false
        }
    }
}
