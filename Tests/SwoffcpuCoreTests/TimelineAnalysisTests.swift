import Testing
@testable import SwoffcpuCore

// Synthetic timelines whose critical paths and knots are known by construction: no BPF.

private let pid: Int32 = 100

/// A thread's slices from (state, length, waker tid) steps, back to back from `at`.
private func thread(_ tid: Int32, from at: UInt64 = 0, _ steps: [(ThreadState, UInt64, Int32?)],
                    tgid: Int32 = pid) -> [TimelineSlice] {
    var t = at
    return steps.map { state, len, waker in
        defer { t += len }
        return TimelineSlice(tid: tid, tgid: tgid, startNs: t, endNs: t + len, state: state, channel: 0x10,
                             waker: waker.map { Waker(tid: $0, tgid: tgid) })
    }
}

private func total(_ p: CriticalPath) -> UInt64 { p.entries.reduce(0) { $0 + $1.ns } }

@Suite struct CriticalPathTests {
    @Test func ownTimeOnlyWhenNobodyWakesIt() throws {
        let t = TimelineData(slices: thread(1, [(.onCPU, 100, nil), (.sleep, 50, nil), (.runnable, 10, nil), (.onCPU, 40, nil)]))
        let p = try #require(CriticalPath(target: 1, timeline: t))
        #expect(p.windowNs == 200)
        #expect(total(p) == 200)
        #expect(p.ns(of: 1, state: .onCPU) == 140)
        #expect(p.ns(of: 1, state: .sleep) == 50)
        #expect(p.ns(of: 1, state: .runnable) == 10)
    }

    /// A pipeline's last stage: every wait ended by the slow stage, which was running
    /// (and once runnable) meanwhile. The waits are the slow stage's on-CPU time.
    @Test func waitsFollowTheWaker() throws {
        let sink = thread(3, [(.blocked, 500, 2), (.runnable, 10, nil), (.onCPU, 20, nil), (.blocked, 470, 2)])
        let slow = thread(2, [(.onCPU, 400, nil), (.runnable, 100, nil), (.onCPU, 500, nil)])
        let p = try #require(CriticalPath(target: 3, timeline: TimelineData(slices: sink + slow)))
        #expect(total(p) == 1000)
        #expect(p.ns(of: 2, state: .onCPU) == 400 + 470)
        #expect(p.ns(of: 2, state: .runnable) == 100)
        #expect(p.ns(of: 3, state: .onCPU) == 20)
        #expect(p.entries.first?.who == .thread(tid: 2, tgid: pid))
        #expect(p.entries.first?.depth == 1)
    }

    /// A chain: 3 waits on 2, which waits on 1 part of that time; 1 runs.
    @Test func chainsAreFollowedRecursively() throws {
        let t3 = thread(3, [(.blocked, 1000, 2)])
        let t2 = thread(2, [(.onCPU, 300, nil), (.sleep, 600, 1), (.onCPU, 100, nil)])
        let t1 = thread(1, [(.sleep, 200, nil), (.onCPU, 800, nil)])
        let p = try #require(CriticalPath(target: 3, timeline: TimelineData(slices: t1 + t2 + t3)))
        #expect(total(p) == 1000)
        #expect(p.ns(of: 2, state: .onCPU) == 400)
        // 2's sleep [300, 900) is 1's doing: 1 ran over all of it.
        #expect(p.ns(of: 1, state: .onCPU) == 600)
        #expect(p.entries.first { $0.who.tid == 1 }?.depth == 2)
    }

    /// Two threads waking each other: the walk never goes back into a thread on its chain.
    @Test func cyclesStop() throws {
        let a = thread(1, [(.blocked, 100, 2), (.onCPU, 100, nil)])
        let b = thread(2, [(.blocked, 100, 1), (.onCPU, 100, nil)])
        let p = try #require(CriticalPath(target: 1, timeline: TimelineData(slices: a + b)))
        #expect(total(p) == 200)
        #expect(p.ns(of: 1, state: .onCPU) == 100)
        // b's wait over [0, 100) was a's to end: a is on the chain, so it stays b's wait.
        #expect(p.ns(of: 2, state: .blocked) == 100)
    }

    @Test func untracedWakersAndInterruptsAndGaps() throws {
        var slices = thread(1, [(.sleep, 100, 77), (.onCPU, 10, nil)])
        slices += [TimelineSlice(tid: 1, tgid: pid, startNs: 110, endNs: 200, state: .sleep,
                                 waker: Waker(tid: 5, tgid: 5, context: .hardirq))]
        slices += thread(1, from: 250, [(.onCPU, 50, nil)]) // [200, 250) dropped
        let p = try #require(CriticalPath(target: 1, timeline: TimelineData(slices: slices)))
        #expect(total(p) == 300)
        #expect(p.entries.contains { $0.who == .untraced(tid: 77, tgid: pid) && $0.ns == 100 })
        #expect(p.ns(of: 1, state: .sleep) == 90) // the timer's: the thread's own sleep
        #expect(p.entries.contains { $0.who == .unknown && $0.ns == 50 })
    }

    @Test func depthIsBounded() throws {
        // A chain of 40 threads, each waiting on the next over the whole window.
        var slices: [TimelineSlice] = []
        for tid in Int32(1)...40 { slices += thread(tid, [(.blocked, 100, tid + 1)]) }
        slices += thread(41, [(.onCPU, 100, nil)])
        let p = try #require(CriticalPath(target: 1, timeline: TimelineData(slices: slices), maxDepth: 16))
        #expect(total(p) == 100)
        #expect(p.entries.count == 1)
        #expect(p.entries[0].depth == 16)
        #expect(p.entries[0].state == .blocked)
    }
}

@Suite struct WaitGraphTests {
    /// src and sink wait on slow; slow waits on sink a little: the knot is slow (or slow with
    /// sink when slow's waiting is not trimmed), its bottom slow either way.
    @Test func pipelineKnotIsTheSlowStage() {
        let src = thread(1, [(.onCPU, 50, nil), (.blocked, 900, 2), (.onCPU, 50, nil)])
        let slow = thread(2, [(.onCPU, 900, nil), (.blocked, 100, 3)])
        let sink = thread(3, [(.onCPU, 100, nil), (.blocked, 800, 2), (.onCPU, 100, nil)])
        let g = WaitGraph(timeline: TimelineData(slices: src + slow + sink))
        #expect(g.edges.count == 3)
        #expect(g.edges[0].waiter == .thread(tid: 1, tgid: pid) && g.edges[0].ns == 900)
        let knots = g.knots()
        #expect(knots.count == 1)
        #expect(knots.first?.bottom == .thread(tid: 2, tgid: pid))
        #expect(knots.first?.members == [.thread(tid: 2, tgid: pid)]) // slow's 10 % on sink is trimmed
        #expect(knots.first?.waitedOnNs == 1700)
        // Without trimming, slow and sink wait on each other: one knot of two, slow at its bottom.
        let untrimmed = g.knots(edgeShare: 0)
        #expect(untrimmed.count == 1)
        #expect(untrimmed.first?.bottom == .thread(tid: 2, tgid: pid))
        #expect(Set(untrimmed.first?.members ?? []) == [.thread(tid: 2, tgid: pid), .thread(tid: 3, tgid: pid)])
    }

    /// A convoy: two threads taking turns at one mutex; the mutex is at the knot's bottom.
    @Test func convoyIsOneKnotWithItsLock() {
        var a = thread(1, [(.onCPU, 100, nil), (.blocked, 100, 2), (.onCPU, 100, nil), (.blocked, 100, 2)])
        var b = thread(2, [(.blocked, 100, 1), (.onCPU, 100, nil), (.blocked, 100, 1), (.onCPU, 100, nil)])
        for i in a.indices where a[i].state == .blocked { a[i].channel = 0xbeef }
        for i in b.indices where b[i].state == .blocked { b[i].channel = 0xbeef }
        let g = WaitGraph(timeline: TimelineData(slices: a + b))
        let knots = g.knots()
        #expect(knots.count == 1)
        #expect(Set(knots[0].members) == [.thread(tid: 1, tgid: pid), .thread(tid: 2, tgid: pid)])
        #expect(knots[0].lock?.value == 0xbeef)
        #expect(knots[0].internalNs == 400)
        #expect(knots[0].waitedOnNs == 0)
    }

    @Test func interruptsAreNotKnotsAndSelfWakesAreNotEdges() {
        let t = [TimelineSlice(tid: 1, tgid: pid, startNs: 0, endNs: 100, state: .sleep,
                               waker: Waker(tid: 9, tgid: 9, context: .hardirq)),
                 TimelineSlice(tid: 1, tgid: pid, startNs: 100, endNs: 150, state: .sleep, waker: Waker(tid: 1, tgid: pid))]
        let g = WaitGraph(timeline: TimelineData(slices: t))
        #expect(g.edges.count == 1)
        #expect(g.edges[0].waker == .interrupt)
        #expect(g.unwokenNs[1] == 50)
        #expect(g.knots().isEmpty)
    }

    @Test func timelineTotalsAddUpPerState() {
        let t = TimelineData(slices: thread(1, [(.onCPU, 10, nil), (.runnable, 5, nil), (.blocked, 20, 2), (.onCPU, 1, nil)]))
        #expect(t.totals()[1] == StateTimes(onCPU: 11, runnable: 5, blocked: 20))
    }

    @Test func stronglyConnectedComponents() {
        typealias N = WaitGraph.Node
        let n: [N] = (1...5).map { .thread(tid: Int32($0), tgid: pid) }
        // 1 -> 2 -> 3 -> 1, 3 -> 4, 4 -> 5 -> 4
        let adj: [N: [N]] = [n[0]: [n[1]], n[1]: [n[2]], n[2]: [n[0], n[3]], n[3]: [n[4]], n[4]: [n[3]]]
        let sccs = WaitGraph.stronglyConnected(nodes: n, adj: adj).map(Set.init)
        #expect(sccs.count == 2)
        #expect(sccs.contains([n[0], n[1], n[2]]))
        #expect(sccs.contains([n[3], n[4]]))
    }
}

/// A wait that ended before its switch-in said (bpf/accounting.bpf.h `wait_end_early`): the slices
/// move back as the record's sums did, and still tile the thread's time.
@Suite struct EarlyWaitEndTests {
    @Test func waitRunnableAndOnCPUMoveBack() {
        var slices = thread(1, [(.blocked, 100, nil), (.runnable, 20, nil)])
        var on = TimelineSlice(tid: 1, tgid: pid, startNs: 120, endNs: 150, state: .onCPU)
        TimelineSlice.endWaitEarly(&slices, wait: 0, runnable: 1, onCPU: &on, by: 7)
        #expect(slices[0].endNs == 93)
        #expect((slices[1].startNs, slices[1].endNs) == (93, 113))
        #expect((on.startNs, on.endNs) == (113, 150))
        #expect(slices.reduce(0) { $0 + $1.durationNs } + on.durationNs == 150)
    }

    @Test func neverMoreThanTheWait() {
        var slices = thread(1, [(.sleep, 5, nil)])
        var on = TimelineSlice(tid: 1, tgid: pid, startNs: 5, endNs: 9, state: .onCPU)
        TimelineSlice.endWaitEarly(&slices, wait: 0, runnable: nil, onCPU: &on, by: 50)
        #expect(slices[0].durationNs == 0)
        #expect(on.startNs == 0)
    }
}
