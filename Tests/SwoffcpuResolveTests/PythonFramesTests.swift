import SwoffcpuCore
@testable import SwoffcpuResolve
import Testing

/// Python frames without a process: line tables against the interpreters' own `co_lines()`,
/// the weaving of Python frames into native stacks, and the names of Python locks.
@Suite struct PythonFramesTests {
    // `def f(a): x = a + 1 / if x > 2: y = [i for i in range(x)]; return len(y) / return x * 2`,
    // co_linetable and co_lines() printed by the interpreters themselves.
    static let table311: [UInt8] = [128, 0, 216, 8, 9, 136, 65, 137, 5, 128, 65, 216, 7, 8, 136, 49, 130, 117, 128, 117, 216,
                                    12, 33, 208, 12, 33, 157, 5, 152, 97, 153, 8, 156, 8, 208, 12, 33, 209, 12, 33, 212, 12,
                                    33, 136, 1, 221, 15, 18, 144, 49, 137, 118, 140, 118, 136, 13, 224, 11, 12, 136, 113,
                                    137, 53, 128, 76]
    static let lines311: [(ClosedRange<Int>, Int)] = [(0...0, 1), (1...5, 2), (6...11, 3), (12...36, 4), (37...51, 5), (52...56, 7)]
    static let table310: [UInt8] = [8, 1, 8, 1, 18, 1, 8, 1, 8, 2]
    static let lines310: [(ClosedRange<Int>, Int)] = [(0...3, 2), (4...7, 3), (8...16, 4), (17...20, 5), (21...24, 7)]

    @Test func lineTable311() {
        for (units, line) in Self.lines311 {
            for u in units { #expect(PythonCode.line311(table: Self.table311, firstLine: 1, unit: u) == line, "unit \(u)") }
        }
    }

    @Test func lineTable310() {
        for (units, line) in Self.lines310 {
            for u in units {
                #expect(PythonCode.line310(table: Self.table310, firstLine: 1, byteOffset: u * 2) == line, "unit \(u)")
            }
        }
    }

    static func frame(_ code: UInt64, entry: Bool = false) -> PythonRawFrame {
        PythonRawFrame(code: code, instr: 0, isEntry: entry)
    }

    static func name(_ f: PythonRawFrame) -> String { "py\(f.code)" }

    /// Each _PyEval_EvalFrameDefault takes the Python frames of its call (up to an entry frame),
    /// innermost first; a GIL wait puts [GIL] at the leaf.
    @Test func weaveInPlaceOfTheEvaluationLoop() {
        let native = ["futex_wait", "PyThread_acquire_lock_timed", "_PyEval_EvalFrameDefault", "method_call",
                      "_PyEval_EvalFrameDefault", "pymain_run", "__libc_start_call_main"]
        let py = PythonRawStack(frames: [Self.frame(1), Self.frame(2, entry: true), Self.frame(3), Self.frame(4, entry: true)],
                                gilWait: true)
        let out = PythonFrames.weave(native: native, python: py, minor: 11, name: Self.name)
        #expect(out == ["[GIL]", "futex_wait", "PyThread_acquire_lock_timed", "py1", "py2", "method_call", "py3", "py4",
                        "pymain_run", "__libc_start_call_main"])
    }

    /// A walk that lost its way (no root reached) past the last interpreter frame: the frames
    /// past it are not the thread's; the Python frames left go there instead. 3.10: one frame a call.
    @Test func weaveAfterATruncatedWalk() {
        let native = ["futex_wait", "_PyEval_EvalFrameDefault", "python3.11+0x1234", "[unknown]+0x7"]
        let py = PythonRawStack(frames: [Self.frame(1), Self.frame(2), Self.frame(3)])
        #expect(PythonFrames.weave(native: native, python: py, minor: 10, name: Self.name) == ["futex_wait", "py1", "py2", "py3"])
        // No interpreter frame at all: native frames down to the first unnamed one, then Python's.
        let lost = ["clock_nanosleep", "time_sleep", "python3.11+0x5d64b4", "python3.11+0x99"]
        let one = PythonRawStack(frames: [Self.frame(7, entry: true)])
        #expect(PythonFrames.weave(native: lost, python: one, minor: 11, name: Self.name) == ["clock_nanosleep", "time_sleep", "py7"])
        // Perf trampolines give way.
        let perf = ["clock_nanosleep", "_PyEval_EvalFrameDefault", "py::take_lock:/x.py", "start_thread"]
        #expect(PythonFrames.weave(native: perf, python: one, minor: 12, name: Self.name) == ["clock_nanosleep", "py7", "start_thread"])
    }

    @Test func lockNames() {
        let lock = ["__futex_abstimed_wait_common", "PyThread_acquire_lock_timed", "py_waits.take_lock (py_waits.py:24)",
                    "py_waits.worker_lock (py_waits.py:30)"]
        #expect(PythonReport.pythonLockName(userFrames: lock) == "threading.Lock at py_waits.take_lock (py_waits.py:24)")
        let future = ["__futex_abstimed_wait_common", "PyThread_acquire_lock_timed", "threading.Condition.wait (threading.py:320)",
                      "_base.Future.result (_base.py:451)", "py_waits.pool_submitter (py_waits.py:90)"]
        #expect(PythonReport.pythonLockName(userFrames: future)
                == "concurrent.futures.Future.result at py_waits.pool_submitter (py_waits.py:90)")
        let queue = ["futex", "threading.Condition.wait (threading.py:320)", "queue.Queue.get (queue.py:171)", "app.consume (app.py:9)"]
        #expect(PythonReport.pythonLockName(userFrames: queue) == "queue.Queue.get at app.consume (app.py:9)")
        #expect(PythonReport.pythonLockName(userFrames: ["futex", "pthread_mutex_lock", "main"]) == nil)
    }

    @Test func versions() {
        #expect(PythonVersion(hex: 0x030b02f0).description == "3.11.2")
        #expect(PythonVersion(hex: 0x030d00c1).description == "3.13.0rc1")
        #expect(PythonLayout.known[0x030b02f0] != nil, "Debian 12's python3.11 has its layout")
    }
}
