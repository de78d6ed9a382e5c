import SwoffcpuCore

/// Colours of the flame graph. Every frame takes the colour family of the state at the root of
/// its stack (the frame just above "all"); within a family, hue and lightness vary by a hash of
/// the frame's name, so a function keeps its colour across files and runs. Kernel frames (`_[k]`)
/// are paler (less saturated) than user frames of the same family.
enum FlamegraphPalette {
    enum Family: Sendable, Equatable, CaseIterable {
        case onCPU, runnable, sleep, sleepUninterruptible, blocked, other

        /// The family of the stacks under a root frame named `name`.
        init(rootFrame name: String) {
            switch name {
            case ThreadState.onCPU.name: self = .onCPU
            case ThreadState.runnable.name: self = .runnable
            case ThreadState.sleep.name: self = .sleep
            case ThreadState.sleepUninterruptible.name: self = .sleepUninterruptible
            case ThreadState.blocked.name: self = .blocked
            default: self = .other
            }
        }

        /// Hue range (degrees), saturation, lightness range.
        fileprivate var hsl: (hue: ClosedRange<Double>, saturation: Double, lightness: ClosedRange<Double>) {
            switch self {
            case .onCPU: (2...28, 0.85, 0.56...0.68) // warm red to orange
            case .runnable: (44...56, 0.90, 0.52...0.66) // yellow
            case .sleep: (198...222, 0.70, 0.60...0.74) // blue
            case .sleepUninterruptible: (264...290, 0.50, 0.63...0.76) // purple
            case .blocked: (156...176, 0.52, 0.50...0.63) // teal/green
            case .other: (0...55, 0.85, 0.50...0.62) // flamegraph.pl's "hot"
            }
        }
    }

    static let root = "rgb(212,212,212)"
    static let merged = "rgb(178,178,178)"
    static let highlight = "rgb(230,0,230)"
    /// The frame Python stacks carry while the thread waits to take the GIL (docs/python.md),
    /// and its colour: apart from every state's family.
    static let gilFrame = "[GIL]"
    static let gil = "rgb(255,96,0)"

    /// The colour of the state frame itself and of its legend swatch: the family's middle hue, saturated.
    static func stateColor(_ family: Family) -> String {
        let hsl = family.hsl
        let hue = (hsl.hue.lowerBound + hsl.hue.upperBound) / 2
        return rgb(hue: hue, saturation: min(1, hsl.saturation + 0.05), lightness: hsl.lightness.lowerBound - 0.04)
    }

    /// The colour of a frame named `name` in `family`.
    static func color(name: String, family: Family, kernel: Bool) -> String {
        let hash = fnv1a(name)
        let a = Double(hash & 0xFFFF) / 65535
        let b = Double((hash >> 16) & 0xFFFF) / 65535
        let hsl = family.hsl
        let hue = hsl.hue.lowerBound + (hsl.hue.upperBound - hsl.hue.lowerBound) * a
        var saturation = hsl.saturation
        var lightness = hsl.lightness.lowerBound + (hsl.lightness.upperBound - hsl.lightness.lowerBound) * b
        if kernel {
            saturation *= 0.38
            lightness = min(0.82, lightness + 0.06)
        }
        return rgb(hue: hue, saturation: saturation, lightness: lightness)
    }

    /// FNV-1a, 32 bits, over the UTF-8 bytes: stable across runs and platforms (unlike `hashValue`).
    static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    static func rgb(hue: Double, saturation s: Double, lightness l: Double) -> String {
        let c = (1 - abs(2 * l - 1)) * s
        let h = hue.truncatingRemainder(dividingBy: 360) / 60
        let x = c * (1 - abs(h.truncatingRemainder(dividingBy: 2) - 1))
        let (r1, g1, b1): (Double, Double, Double)
        switch h {
        case ..<1: (r1, g1, b1) = (c, x, 0)
        case ..<2: (r1, g1, b1) = (x, c, 0)
        case ..<3: (r1, g1, b1) = (0, c, x)
        case ..<4: (r1, g1, b1) = (0, x, c)
        case ..<5: (r1, g1, b1) = (x, 0, c)
        default: (r1, g1, b1) = (c, 0, x)
        }
        let m = l - c / 2
        func channel(_ v: Double) -> Int { Int(((v + m) * 255).rounded()).clamped(0, 255) }
        return "rgb(\(channel(r1)),\(channel(g1)),\(channel(b1)))"
    }
}

private extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
