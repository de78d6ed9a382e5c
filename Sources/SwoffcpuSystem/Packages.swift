import Foundation

/// The distribution's packages, for telling a user which package holds a file's debug symbols.
public enum Packages {
    /// The Debian package that installed each of `paths` (`dpkg-query -S`, one run for them all),
    /// without its `:arch` qualifier; empty when dpkg is not there. Paths no package owns are absent.
    public static func debianOwners(of paths: [String]) -> [String: String] {
        guard !paths.isEmpty, let dpkg = ["/usr/bin/dpkg-query", "/bin/dpkg-query"].first(where: { (p: String) in FileManager.default.isExecutableFile(atPath: p) })
        else { return [:] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: dpkg)
        // Merged /usr (Debian 12): the maps say /usr/lib/…, dpkg may have recorded /lib/….
        var asked: [String: String] = [:]  // path asked -> path given
        for path in paths {
            asked[path] = path
            for dir in ["/lib/", "/lib64/", "/bin/", "/sbin/"] where path.hasPrefix("/usr" + dir) {
                asked[String(path.dropFirst(4))] = path
            }
        }
        p.arguments = ["-S"] + asked.keys.sorted()
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do { try p.run() } catch { return [:] }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var owners: [String: String] = [:]
        // "liblzma5:amd64: /usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1" (diversions: "diversion by …")
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let sep = line.range(of: ": /") else { continue }
            let pkgs = line[..<sep.lowerBound]
            let path = String(line[line.index(after: sep.lowerBound)...]).trimmingCharacters(in: .whitespaces)
            guard !pkgs.hasPrefix("diversion"), let first = pkgs.split(separator: ",").first else { continue }
            let name = first.trimmingCharacters(in: .whitespaces).split(separator: ":").first.map(String.init) ?? ""
            if !name.isEmpty, let given = asked[path], owners[given] == nil { owners[given] = name }
        }
        return owners
    }
}
