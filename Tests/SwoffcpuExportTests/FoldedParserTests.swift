import Foundation
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct FoldedParserTests {
    /// Checks that blank lines, `\r\n` ends, tabs, surrounding spaces and a missing final newline are tolerated.
    @Test func tolerantInput() throws {
        let text = "\n  \na;b;c 10\r\nx y;z\t20\r\n\r\n  d 3  \ne;f 4"
        let stacks = try FoldedParser().parse(text)
        #expect(stacks == [
            FoldedStack(frames: ["a", "b", "c"], value: 10),
            FoldedStack(frames: ["x y", "z"], value: 20),
            FoldedStack(frames: ["d"], value: 3),
            FoldedStack(frames: ["e", "f"], value: 4),
        ])
        #expect(try FoldedParser().parse("") == [])
        #expect(try FoldedParser().parse("\r\n\n") == [])
    }

    /// Checks that a second count (differential flame graphs) is read into `secondValue`.
    @Test func differentialLines() throws {
        let stacks = try FoldedParser().parse("a;b 10 12\nc 0 5\n")
        #expect(stacks == [FoldedStack(frames: ["a", "b"], value: 10, secondValue: 12),
                           FoldedStack(frames: ["c"], value: 0, secondValue: 5)])
        #expect(stacks[0].line == "a;b 10 12")
        // A frame that is a number on its own is still a frame when it is the only thing before the count.
        #expect(try FoldedParser().parse("12 34") == [FoldedStack(frames: ["12"], value: 34)])
    }

    /// Checks that malformed lines raise the matching typed error with its line number.
    @Test func typedErrors() {
        func error(_ text: String) -> FoldedParseError? {
            do { _ = try FoldedParser().parse(text) } catch { return error }
            return nil
        }
        #expect(error("a;b 1\nnovalue\n") == .missingValue(line: 2))
        #expect(error("a;b 1.5") == .invalidValue(line: 1, text: "1.5"))
        #expect(error("a;b -3") == .invalidValue(line: 1, text: "-3"))
        #expect(error("\n\na;b x12") == .invalidValue(line: 3, text: "x12"))
        #expect(error("a 18446744073709551616") == .valueOverflow(line: 1, text: "18446744073709551616"))
        #expect(error("   42") == .emptyStack(line: 1))
        #expect(error("a;;b 1") == .emptyFrame(line: 1, index: 1))
        #expect(error(";a 1") == .emptyFrame(line: 1, index: 0))
        #expect(error("a; 1") == .emptyFrame(line: 1, index: 1))
        #expect(error("a 18446744073709551615") == nil)
        #expect(throws: FoldedParseError.invalidUTF8) { try FoldedParser().parse(data: Data([0x61, 0x20, 0x31, 0xFF])) }
        #expect(FoldedParseError.missingValue(line: 2).description.contains("line 2"))
    }

    /// Checks that `parseLine` reads one line and returns nil for a blank one.
    @Test func singleLine() throws {
        #expect(try FoldedParser().parseLine("blocked;main;pthread_mutex_lock 250") ==
                FoldedStack(frames: ["blocked", "main", "pthread_mutex_lock"], value: 250))
        #expect(try FoldedParser().parseLine(" \r") == nil)
    }

    /// Checks that `merge` sums the values of equal stacks and sorts by bytes.
    @Test func merge() throws {
        let stacks = try FoldedParser().parse("b 1\na;x 2\nb 3\na;x 4 1\n")
        #expect(FoldedParser.merge(stacks) == [FoldedStack(frames: ["a", "x"], value: 6, secondValue: 1),
                                              FoldedStack(frames: ["b"], value: 4)])
    }

    /// Checks that non-ASCII frames and frames with spaces survive `parse(data:)`.
    @Test func unicodeData() throws {
        let text = "sleep;Überweisung.buchen();closure #1 in f(x: Int) 7\n"
        let stacks = try FoldedParser().parse(data: Data(text.utf8))
        #expect(stacks == [FoldedStack(frames: ["sleep", "Überweisung.buchen()", "closure #1 in f(x: Int)"], value: 7)])
    }
}
