import CMalloc

/// How glibc's malloc reuses memory, set for the stop: the raw stacks and leaf contexts
/// (100 MB for 100,000 stacks) are freed before the outputs are built, and the outputs should
/// take that memory again rather than map more (the peak RSS is what counts, and each fresh
/// page is a fault). By default glibc maps an allocation above a threshold (which grows up to
/// 32 MB as mapped blocks are freed) on its own instead of taking it from the freed heap, and
/// gives each thread that allocates an arena of its own, which reuses nothing freed in the
/// main one. Measured on the 110,000-stack target: peak RSS 260-280 MB by default, 200 MB so.
enum MemoryReuse {
    static func configure() {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_ARENA_MAX, 1)
    }
}
