import Foundation
import Testing
@testable import SwoffcpuSystem
import SwoffcpuTestSupport

@Suite struct AtomicFileTests {
    /// Checks that a write creates the file with the data, replaces an existing one keeping its mode,
    /// and leaves no temporary file behind.
    @Test func writeAndReplace() throws {
        let directory = try TestDirectory()
        let path = directory.path + "/stacks.folded"
        try AtomicFile.write("first\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try AtomicFile.write(Data("second\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["stacks.folded"])
    }

    /// Checks that an empty file can be written.
    @Test func emptyData() throws {
        let directory = try TestDirectory()
        let path = directory.path + "/empty"
        try AtomicFile.write(Data(), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    }

    /// Checks that a missing directory fails with a typed error naming the step and errno, creating nothing.
    @Test func missingDirectory() throws {
        let directory = try TestDirectory()
        let path = directory.path + "/nope/out.svg"
        #expect(throws: AtomicFileError(step: .createTemporary, path: path, errno: ENOENT)) {
            try AtomicFile.write("x", to: path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        #expect(AtomicFileError(step: .rename, path: path, errno: ENOENT).description.contains("No such file"))
    }
}
