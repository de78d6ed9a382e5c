import SwoffcpuCore
import Testing

@Suite("IntervalDeltas")
struct IntervalDeltasTests {
    func rec(_ tid: Int32, start: UInt64 = 0, on: UInt64, sleep: UInt64, born: Bool = false, exited: Bool = false) -> ThreadRecord {
        ThreadRecord(tid: tid, tgid: 1, comm: "t\(tid)", startNs: start, endNs: start + on + sleep,
                     times: StateTimes(onCPU: on, sleepInterruptible: sleep), born: born, exited: exited)
    }

    @Test func deltasTelescopeToTheLastRecord() {
        var d = IntervalDeltas()
        let first = d.next([rec(1, on: 10, sleep: 90)])
        #expect(first.map(\.times) == [StateTimes(onCPU: 10, sleepInterruptible: 90)])
        #expect(first[0].new == false)
        // Thread 2 born in the second interval; thread 1 goes on.
        let second = d.next([rec(1, on: 30, sleep: 170), rec(2, start: 150, on: 5, sleep: 45, born: true)])
        #expect(second.first { $0.tid == 1 }?.times == StateTimes(onCPU: 20, sleepInterruptible: 80))
        #expect(second.first { $0.tid == 2 }?.times == StateTimes(onCPU: 5, sleepInterruptible: 45))
        #expect(second.first { $0.tid == 2 }?.new == true)
        // Thread 2 exits: its last delta, then it is not listed again.
        let third = d.next([rec(1, on: 40, sleep: 260), rec(2, start: 150, on: 7, sleep: 60, born: true, exited: true)])
        #expect(third.first { $0.tid == 2 }?.times == StateTimes(onCPU: 2, sleepInterruptible: 15))
        #expect(third.first { $0.tid == 2 }?.ended == true)
        let fourth = d.next([rec(1, on: 40, sleep: 360), rec(2, start: 150, on: 7, sleep: 60, born: true, exited: true)])
        #expect(fourth.map(\.tid) == [1])
        let all = [first, second, third, fourth].flatMap { $0 }
        #expect(all.filter { $0.tid == 1 }.reduce(StateTimes()) { $0 + $1.times } == StateTimes(onCPU: 40, sleepInterruptible: 360))
        #expect(all.filter { $0.tid == 2 }.reduce(StateTimes()) { $0 + $1.times } == StateTimes(onCPU: 7, sleepInterruptible: 60))
    }

    @Test func aShrinkingStateIsNeverNegative() {
        var d = IntervalDeltas()
        _ = d.next([rec(1, on: 10, sleep: 100)])
        let shrunk = d.next([rec(1, on: 20, sleep: 98)])
        #expect(shrunk[0].times == StateTimes(onCPU: 10))
        let grown = d.next([rec(1, on: 20, sleep: 150)])
        #expect(grown[0].times == StateTimes(sleepInterruptible: 50), "the shortfall is taken from the next growth")
    }

    @Test func processesSumTheirThreads() {
        var d = IntervalDeltas()
        let p = IntervalDeltas.processes(d.next([rec(1, on: 1, sleep: 2), rec(2, on: 3, sleep: 4)]))
        #expect(p.count == 1 && p[0].threads == 2 && p[0].times == StateTimes(onCPU: 4, sleepInterruptible: 6))
        #expect(p[0].comm == "t1", "named after its main thread")
    }
}
