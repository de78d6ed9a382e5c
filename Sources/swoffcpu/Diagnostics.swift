import ArgumentParser
import Glibc
import SwoffcpuBPF
import SwoffcpuSystem

/// One-line errors on stderr and a non-zero exit: never a stack trace.
enum Diagnostics {
    static func write(_ text: String) {
        Terminal.writeError(text)
    }

    static func fail(_ error: Error, verbose: Bool) -> Never {
        var message = "\(error)"
        if let bpf = error as? BPFError {
            if bpf.errno == EPERM || bpf.errno == EACCES {
                message += " (are you root? swoffcpu needs CAP_BPF and CAP_PERFMON to trace, CAP_SYSLOG for kernel "
                    + "symbols, CAP_SYS_PTRACE for other users' processes: setcap cap_bpf,cap_perfmon,cap_syslog,cap_sys_ptrace+ep swoffcpu)"
            }
            if !bpf.libbpfTail.isEmpty {
                let lines = bpf.libbpfTail.split(separator: "\n")
                if verbose {
                    write(lines.suffix(12).map { "  \($0)\n" }.joined())
                } else if let last = lines.last {
                    message += "; libbpf: \(last) (-v shows the verifier's log)"
                }
            }
        }
        write("swoffcpu: error: \(message)\n")
        Swoffcpu.exit(withError: ExitCode(1))
    }
}
