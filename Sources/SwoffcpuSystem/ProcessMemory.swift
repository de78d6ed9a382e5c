/// This process's memory, from /proc/self/status.
public enum ProcessMemory {
    /// Resident set size and its high-water mark (VmRSS, VmHWM), in MB.
    public static func residentMB() -> (resident: Int, peak: Int) {
        var resident = 0, peak = 0
        for line in (ProcFS.read("/proc/self/status") ?? "").split(separator: "\n") {
            let fields = line.split { $0 == " " || $0 == "\t" }
            guard fields.count >= 2, let kB = Int(fields[1]) else { continue }
            if fields[0] == "VmRSS:" { resident = kB >> 10 }
            if fields[0] == "VmHWM:" { peak = kB >> 10 }
        }
        return (resident, peak)
    }
}
