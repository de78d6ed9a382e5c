import Glibc

extension ProcessSymbols {
    /// Recovers the frames a frame-pointer walk missed between the leaf and its first
    /// frame-pointer frame, from the registers and the top of the user stack captured at the
    /// syscall, with the `.eh_frame` CFI of the snapshot's modules.
    ///
    /// - Parameters:
    ///   - ip, sp, bp: the user registers where the thread entered the kernel.
    ///   - stack: user stack bytes from `sp` up (the BPF side keeps 512).
    ///   - fpFrames: the frame-pointer walk, leaf first (`fpFrames[0] == ip`).
    ///   - scanWithoutCFI: when a frame has no CFI (JIT code, no `.eh_frame`), scan the stack
    ///     below rbp for words that point right after a call instruction in executable code.
    ///     Off by default: stale return addresses left on the stack by earlier calls pass
    ///     that test too. Frames found so are counted in `scannedFrames`.
    ///   - maxFrames: at most this many recovered frames.
    /// - Returns: the recovered return addresses (leaf side first) and why the unwind stopped.
    ///   Nothing is recovered when the leaf's own frame is the walk's first frame.
    public func unwindLeaf(ip: UInt64, sp: UInt64, bp: UInt64, stack: [UInt8], fpFrames: [UInt64],
                           scanWithoutCFI: Bool = false, maxFrames: Int = 16) -> LeafUnwindResult {
        stack.withUnsafeBytes {
            unwindLeaf(ip: ip, sp: sp, bp: bp, stackBytes: $0, fpFrames: fpFrames, scanWithoutCFI: scanWithoutCFI,
                       maxFrames: maxFrames)
        }
    }

    /// `unwindLeaf` on stack bytes held elsewhere (not copied).
    public func unwindLeaf(ip: UInt64, sp: UInt64, bp: UInt64, stackBytes stack: UnsafeRawBufferPointer,
                           fpFrames: [UInt64], scanWithoutCFI: Bool = false, maxFrames: Int = 16) -> LeafUnwindResult {
        let fpReturn = fpFrames.count > 1 ? fpFrames[1] : nil
        let unwinder = LeafUnwinder(ip: ip, sp: sp, bp: bp, stackBytes: stack, fpReturn: fpReturn, maxFrames: max(0, maxFrames))
        var (result, frameSP, _) = unwinder.unwind(lookup: cfiLookup)
        if scanWithoutCFI, case .noCFI = result.stop, result.frames.count < maxFrames {
            let found = unwinder.scan(from: frameSP, limit: maxFrames - result.frames.count,
                                      isReturnAddress: isLikelyReturnAddress)
            result.frames += found.frames
            result.scannedFrames = found.frames.count
            if found.joined { result.stop = .matchedFramePointerReturn }
        }
        return result
    }

    /// The recovered return addresses alone (see `unwindLeaf`): they go between `fpFrames[0]`
    /// and `fpFrames[1]`.
    public func recoverLeafFrames(ip: UInt64, sp: UInt64, bp: UInt64, stack: [UInt8], fpFrames: [UInt64]) -> [UInt64] {
        unwindLeaf(ip: ip, sp: sp, bp: bp, stack: stack, fpFrames: fpFrames).frames
    }

    /// The user stack with the recovered frames in place: `[ip] + recovered + fpFrames.dropFirst()`.
    /// `fpFrames` unchanged when its leaf is not `ip` (the context belongs to another stack).
    public func mergedUserStack(ip: UInt64, sp: UInt64, bp: UInt64, stack: [UInt8], fpFrames: [UInt64]) -> [UInt64] {
        stack.withUnsafeBytes { mergedUserStack(ip: ip, sp: sp, bp: bp, stackBytes: $0, fpFrames: fpFrames) }
    }

    /// `mergedUserStack` on stack bytes held elsewhere (not copied): 100,000 leaf contexts are
    /// read from the blocks the kernel's map was read into.
    public func mergedUserStack(ip: UInt64, sp: UInt64, bp: UInt64, stackBytes stack: UnsafeRawBufferPointer,
                                fpFrames: [UInt64]) -> [UInt64] {
        if let first = fpFrames.first, first != ip { return fpFrames }
        let recovered = unwindLeaf(ip: ip, sp: sp, bp: bp, stackBytes: stack, fpFrames: fpFrames).frames
        if recovered.isEmpty { return fpFrames.isEmpty ? [ip] : fpFrames }
        return [ip] + recovered + fpFrames.dropFirst()
    }

    // MARK: - CFI of the snapshot's modules

    /// The CFI row of an absolute pc, through its mapping's module (kept per pc).
    func cfiLookup(_ pc: UInt64) -> LeafUnwinder.Lookup {
        cachedCFI(pc) { pc in
            guard let mi = mappingIndex(pc) else { return .noCFI }
            let m = mappings[mi]
            guard m.entry.executable, let mod = m.module, let info = mod.unwindInfo,
                  let vaddr = mod.loads.vaddr(forFileOffset: pc &- m.entry.start &+ m.entry.offset) else { return .noCFI }
            switch info.row(for: vaddr) {
            case nil: return .noCFI
            case .success(let row)?: return .row(row)
            case .failure?: return .unsupported
            }
        }
    }

    /// For the stack scan: `address` is in an executable mapping and the bytes before it end
    /// with a call instruction (read from the live process, else from the mapped file).
    func isLikelyReturnAddress(_ address: UInt64) -> Bool {
        guard let mi = mappingIndex(address &- 1) else { return false }
        let e = mappings[mi].entry
        guard e.executable, address > e.start else { return false }
        let n = Int(min(7, address - e.start))
        guard n >= 2 else { return false }
        var code = readProcessMemory(pid: pid, address: address - UInt64(n), count: n)
        if code == nil, e.isFileBacked, let f = try? FileByteSource(path: e.path, mappedBy: e) {
            code = f.read((address - UInt64(n) - e.start) &+ e.offset, n)
        }
        guard let code else { return false }
        return X86CallCheck.endsWithCall(code)
    }
}
