import SwoffcpuBPF
import SwoffcpuCore
import Glibc
// Scratch driver while the CLI is written.
let pid = Int32(CommandLine.arguments[1])!
do {
    let s = try TraceSession(options: TraceOptions(pids: [pid], verbose: CommandLine.arguments.count > 3))
    try s.start()
    for _ in 0..<Int(CommandLine.arguments[2])! * 10 { usleep(100_000); s.poll() }
    let r = try s.stop()
    print("window", r.windowNs)
    for p in r.processes { for t in p.threads { print(t.tid, t.comm, t.windowNs, t.times, t.times.total == t.windowNs, t.seeded, t.born, t.exited) } }
} catch { print("error:", error, (error as? BPFError)?.libbpfTail ?? "") }
