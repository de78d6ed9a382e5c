import Foundation
import Testing
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

@Suite struct JSONTextTests {
    /// Checks that JSON written as text parses back with every value, escapes included,
    /// and that it can stand as a section, written in pieces, inside a ReportJSON-style document.
    @Test func parsesBack() throws {
        var doc = JSONObject()
        // Written one object a piece, as a section of the document.
        doc["stacks"] = .section(JSONSection(pieces: {
            var i = 0
            return { json in
                if i == 0 { json.beginArray() }
                json.newline()
                json.beginObject()
                json.key("tid"); json.int(Int64(i) - 1)
                json.key("name"); json.string("a\"b\\c\n\(i);ü")
                json.key("ns"); json.uint(UInt64.max - UInt64(i))
                json.key("frames"); json.strings(["x", "", "y z"])
                json.key("empty"); json.strings([])
                json.endObject()
                i += 1
                guard i == 3 else { return true }
                json.newline()
                json.endArray()
                return false
            }
        }))
        doc["after"] = .uint(7)
        let text = JSONValue.object(doc).serialized(pretty: true)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let stacks = try #require(parsed["stacks"] as? [[String: Any]])
        #expect(stacks.count == 3)
        #expect(stacks[0]["tid"] as? Int == -1)
        #expect(stacks[2]["name"] as? String == "a\"b\\c\n2;ü")
        #expect((stacks[1]["ns"] as? NSNumber)?.uint64Value == UInt64.max - 1)
        #expect(stacks[0]["frames"] as? [String] == ["x", "", "y z"])
        #expect((stacks[0]["empty"] as? [String])?.isEmpty == true)
        #expect(parsed["after"] as? Int == 7)
    }
}
