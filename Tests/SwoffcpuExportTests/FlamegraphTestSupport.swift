import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import SwoffcpuExport
import SwoffcpuResolve
import SwoffcpuTestSupport
import SwoffcpuSystem

/// An SVG parsed with XMLParser: the root's attributes and the frames in `<g id="frames">`.
final class ParsedFlamegraph: NSObject, XMLParserDelegate {
    struct Frame {
        var x: UInt64
        var value: UInt64
        var merged: Int?
        var title = ""
        var rect: [String: String] = [:]
        var label: String?
    }

    var rootAttributes: [String: String] = [:]
    var frames: [Frame] = []
    var legend: [String] = []
    var scriptLength = 0
    var error: Error?
    private var path: [String] = []
    private var inFrames = false
    private var text = ""

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        if !parser.parse() { error = parser.parserError ?? CocoaError(.coderReadCorrupt) }
    }

    var isValid: Bool { error == nil }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if path.isEmpty { rootAttributes = attributes }
        if name == "g" && attributes["id"] == "frames" { inFrames = true }
        if inFrames && name == "g", let x = attributes["data-x"].flatMap(UInt64.init),
           let value = attributes["data-v"].flatMap(UInt64.init) {
            frames.append(Frame(x: x, value: value, merged: attributes["data-m"].flatMap(Int.init)))
        }
        if inFrames && name == "rect" && !frames.isEmpty { frames[frames.count - 1].rect = attributes }
        path.append(name)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, foundCDATA block: Data) { scriptLength += block.count }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        path.removeLast()
        if inFrames && !frames.isEmpty && path.last == "g" {
            if name == "title" { frames[frames.count - 1].title = text }
            if name == "text" { frames[frames.count - 1].label = text }
        }
        if !inFrames && name == "text" && path.contains("g") { legend.append(text) }
        if inFrames && name == "g" && path.last == "svg" { inFrames = false }
        text = ""
    }

    /// The frame name: the first line of its title.
    func name(_ frame: Frame) -> String {
        String(frame.title.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }
}
