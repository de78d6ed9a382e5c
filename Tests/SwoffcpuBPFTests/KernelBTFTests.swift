import Testing
@testable import SwoffcpuBPF

@Suite("Kernel BTF parts")
struct KernelBTFTests {
    /// Each optional part missing from the kernel's BTF is said once, with what it costs; parts
    /// present, or a BTF that cannot be read, say nothing.
    @Test func missingPartsSaidWithTheirCost() {
        #expect(KernelBTF.missingParts { _, _ in true }.isEmpty)
        #expect(KernelBTF.missingParts { _, _ in nil }.isEmpty)
        let noSteal = KernelBTF.missingParts { type, member in !(type == "rq" && member == "prev_steal_time_rq") }
        #expect(noSteal == [KernelBTF.optionalParts[2].cost])
        #expect(noSteal.first?.hasPrefix("stolen time not shown apart") == true)
        let none = KernelBTF.missingParts { _, _ in false }
        #expect(none.count == KernelBTF.optionalParts.count)
        #expect(none.allSatisfy { $0.contains("missing from the kernel's BTF") })
        // Through the degradations said at the start (no target: no maps checked).
        #expect(Preflight.degradations(pids: [], capabilities: nil, btf: { _, _ in false }).count >= none.count)
    }

    /// This machine's kernel (6.18, the CI's kind) has every part: nothing said.
    @Test func thisKernelHasEveryPart() throws {
        let lookup = try #require(KernelBTF.vmlinuxLookup(), "/sys/kernel/btf/vmlinux unreadable")
        for part in KernelBTF.optionalParts {
            #expect(lookup(part.type, part.member) == true, "\(part.type).\(part.member)")
        }
        #expect(lookup("rq", "no_such_member_here") == false)
        #expect(lookup("no_such_struct_here", "x") == false)
    }
}
