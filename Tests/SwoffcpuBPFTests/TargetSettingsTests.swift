import CSwoffcpuShims
import SwoffcpuBPF
import SwoffcpuSystem
import Testing

@Suite("Target settings (--cgroup, -a)")
struct TargetSettingsTests {
    @Test func modes() {
        let pids = LoadPlan.TargetSettings(.pids)
        #expect(pids.mode == UInt32(SWOFFCPU_TARGET_PIDS) && !pids.onCgroupAttach)
        let all = LoadPlan.TargetSettings(.all)
        #expect(all.mode == UInt32(SWOFFCPU_TARGET_ALL) && !all.onCgroupAttach, "-a needs no move hook")
    }

    /// A cgroup v2 directory resolves to its inode (the kernfs id) and its depth below the
    /// mount; anything else is refused.
    @Test func cgroupPaths() throws {
        if let mount = CgroupV2.mountPoint() {
            let root = try CgroupV2(path: mount)
            #expect(root.level == 0 && root.mount == mount)
            let settings = LoadPlan.TargetSettings(.cgroup(root))
            #expect(settings.mode == UInt32(SWOFFCPU_TARGET_CGROUP) && settings.onCgroupAttach)
            #expect(settings.cgroupID == root.id && settings.cgroupLevel == 0)
        }
        #expect(throws: CgroupError.self) { try CgroupV2(path: "/tmp") }
        #expect(throws: CgroupError.self) { try CgroupV2(path: "/no/such/cgroup") }
    }
}
