import Foundation
import SwoffcpuCore
import Testing

extension IntegrationTests {
    @Suite("Busy machine", .enabled(if: geteuid() == 0, "loads BPF programs: run as root"))
    struct BusyMachine {
        /// Every state right with the other CPU busy (issue 15): a CPU hog in another process,
        /// untraced, and the hypervisor taking what it takes. Traced: four threads taking one mutex
        /// in turn (Workloads/lock_hotcold.c: futex waits, preemptions), a thread that sleeps
        /// 100 µs at a time around a cold lock's waits, and a 1 ms sleep loop (wakeups onto idle
        /// and busy CPUs). Per thread:
        /// - blocked equals the thread's futex waits in the lock table within 1 %;
        /// - sleep equals its own sleep intervals (the tracepoints', before reconciliation) within 1 %;
        /// - on-CPU (less what steal and interrupts took, which schedstat leaves out) and runnable
        ///   agree with schedstat (`expectAgreesWithSchedstat`): stolen time is on-CPU, never an
        ///   off-CPU state.
        /// Before the wait's end was taken where the kernel's clocks put it (`wait_end_early`,
        /// bpf/accounting.bpf.h), the kernel's on-CPU time from the idle exit was taken out of the
        /// waits in proportion: blocked was 8.5 % below the futex waits of a sleep-and-lock thread.
        @Test func everyStateWithTheOtherCPUBusy() throws {
            let hog = try Workload("spinner")  // not traced: the load
            defer { hog.stop() }
            let mutex = try Workload("lock_hotcold", ["-n", "4"])
            defer { mutex.stop() }
            let sleeper = try Workload("sleeper")
            defer { sleeper.stop() }
            var steal: [TracedRun.Phase: UInt64] = [:]
            let run = try TracedRun.trace("busy", [mutex, sleeper], seconds: 2,
                                          probe: { phase in steal[phase] = Procfs.machineStealNs() })
            let data = try #require(run.report.locks)
            var waits: [Int32: UInt64] = [:]
            for w in data.waits { waits[w.tid, default: 0] += w.waitNs }
            if let a = steal[.postStart], let b = steal[.preStop] {
                print("[busy] machine steal over the window \(f2(ms(b &- a))) ms (both CPUs)")
            }
            var stolen: UInt64 = 0
            for (w, name) in [(mutex, "hot0"), (mutex, "hot1"), (mutex, "hot2"), (mutex, "hot3"), (mutex, "cold-waiter"), (sleeper, "nsleep")] {
                let t = try run.thread(w, name)
                run.expectAgreesWithSchedstat(t)
                let raw = try #require(t.tracepointTimes)
                let futex = waits[t.tid] ?? 0
                stolen += t.stolenNs
                print("[busy] \(name): blocked \(f2(ms(t.times.blocked))) ms, futex waits \(f2(ms(futex))) ms "
                      + "(\(signed(msSigned(t.times.blocked, futex))) ms); sleep \(f2(ms(t.times.sleep))) ms, "
                      + "its intervals \(f2(ms(raw.sleep))) ms (\(signed(msSigned(t.times.sleep, raw.sleep))) ms); "
                      + "on-cpu \(f2(ms(t.times.onCPU))) ms of which stolen \(f2(ms(t.stolenNs))) ms; \(t.switches) switches")
                if let k = t.kernelClocks {
                    print("[busy] \(name): kernel on-cpu \(f2(ms(k.heldCPUNs))) run_delay \(f2(ms(k.runDelayNs))) | tracepoints on-cpu "
                          + "\(f2(ms(raw.onCPU))) runnable \(f2(ms(raw.runnable))): kernel minus tracepoints "
                          + "\(signed(msSigned(k.heldCPUNs + k.runDelayNs, raw.onCPU + raw.runnable))) ms")
                }
                #expect(within1Percent(t.times.blocked, futex), "\(name): blocked \(t.times.blocked) ns, futex waits \(futex) ns")
                #expect(within1Percent(t.times.sleep, raw.sleep), "\(name): sleep \(t.times.sleep) ns, its intervals \(raw.sleep) ns")
            }
            // The workloads did what they are for: lock waits, sleeps, and CPU time taken from
            // the traced threads by the hog (each mutex thread spends some of the window queued).
            let m0 = try run.thread(mutex, "hot0")
            run.expectAtLeast("blocked", m0, m0.times.blocked, 0.05)
            let s = try run.thread(sleeper, "nsleep")
            run.expectAtLeast("sleep", s, s.times.sleep, 0.3)
            #expect(data.waitsDropped == 0)
            print("[busy] stolen from the traced threads' slices: \(f2(ms(stolen))) ms")
            run.expectSoundReport()
        }

        /// `a` and `b` equal within 1 % of the larger (20 µs floor for a state nearly empty).
        private func within1Percent(_ a: UInt64, _ b: UInt64) -> Bool {
            let diff = a > b ? a - b : b - a
            return diff <= max(max(a, b) / 100, 20_000)
        }
    }
}
