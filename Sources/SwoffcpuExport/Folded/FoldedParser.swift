import Foundation

/// Why a folded-stacks text could not be read. Line numbers count from 1.
public enum FoldedParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not UTF-8.
    case invalidUTF8
    /// A non-blank line with no whitespace-separated count at its end.
    case missingValue(line: Int)
    /// The last field is not an unsigned decimal integer.
    case invalidValue(line: Int, text: String)
    /// A count above `UInt64.max`.
    case valueOverflow(line: Int, text: String)
    /// A count with nothing before it.
    case emptyStack(line: Int)
    /// An empty frame (`a;;b`, a leading or trailing `;`); `index` counts frames from 0.
    case emptyFrame(line: Int, index: Int)

    public var description: String {
        switch self {
        case .invalidUTF8: "folded stacks: not UTF-8 text"
        case .missingValue(let line): "folded stacks, line \(line): no count at the end of the line"
        case .invalidValue(let line, let text): "folded stacks, line \(line): count '\(text)' is not an unsigned integer"
        case .valueOverflow(let line, let text): "folded stacks, line \(line): count '\(text)' is too large"
        case .emptyStack(let line): "folded stacks, line \(line): a count without frames"
        case .emptyFrame(let line, let index): "folded stacks, line \(line): frame \(index + 1) is empty"
        }
    }
}

/// Reads folded stacks (`frame;…;frame COUNT [COUNT2]` lines) back into `FoldedStack`s.
///
/// Tolerates blank and whitespace-only lines, `\r\n` line ends, a missing final newline, spaces
/// or tabs before a count and after the last one, and the two-count lines of differential flame
/// graphs. Frames may contain spaces. Lines are returned in file order, not merged: see `merge`.
public struct FoldedParser: Sendable {
    public init() {}

    public func parse(data: Data) throws(FoldedParseError) -> [FoldedStack] {
        guard let text = String(data: data, encoding: .utf8) else { throw .invalidUTF8 }
        return try parse(text)
    }

    public func parse(_ text: String) throws(FoldedParseError) -> [FoldedStack] {
        var stacks: [FoldedStack] = []
        var lineNumber = 0
        var failure: FoldedParseError?
        var copy = text
        copy.withUTF8 { buffer in
            var start = 0
            let count = buffer.count
            while start < count {
                var end = start
                while end < count && buffer[end] != 0x0A { end += 1 }
                lineNumber += 1
                do throws(FoldedParseError) {
                    if let stack = try Self.parseLine(UnsafeBufferPointer(rebasing: buffer[start..<end]), lineNumber: lineNumber) {
                        stacks.append(stack)
                    }
                } catch {
                    failure = error
                    return
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        return stacks
    }

    /// One line without its `\n`; `nil` for a blank line.
    public func parseLine(_ line: some StringProtocol, lineNumber: Int = 1) throws(FoldedParseError) -> FoldedStack? {
        var text = String(line)
        var result: Result<FoldedStack?, FoldedParseError> = .success(nil)
        text.withUTF8 { buffer in
            do throws(FoldedParseError) {
                result = .success(try Self.parseLine(buffer, lineNumber: lineNumber))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Sums the counts (and second counts) of lines with the same frames, sorted by their bytes.
    public static func merge(_ stacks: [FoldedStack]) -> [FoldedStack] {
        var merged: [[String]: FoldedStack] = [:]
        for stack in stacks {
            if var existing = merged[stack.frames] {
                existing.value = existing.value.addingOrMax(stack.value)
                if existing.secondValue != nil || stack.secondValue != nil {
                    existing.secondValue = (existing.secondValue ?? 0).addingOrMax(stack.secondValue ?? 0)
                }
                merged[stack.frames] = existing
            } else {
                merged[stack.frames] = stack
            }
        }
        return merged.values.sorted {
            utf8Precedes($0.frames.joined(separator: ";"), $1.frames.joined(separator: ";"))
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    private static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(FoldedParseError) -> FoldedStack? {
        var end = bytes.count
        while end > 0 && isSpace(bytes[end - 1]) { end -= 1 }
        var start = 0
        while start < end && isSpace(bytes[start]) { start += 1 }
        if start == end { return nil }

        // Last field: the count (or the second count of a differential line).
        guard let (value, valueStart) = try lastCount(bytes, start: start, end: end, lineNumber: lineNumber) else {
            // One field only: a bare count has no stack; anything else has no count.
            let isCount = UnsafeBufferPointer(rebasing: bytes[start..<end]).allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            throw isCount ? .emptyStack(line: lineNumber) : .missingValue(line: lineNumber)
        }
        var stackEnd = valueStart
        while stackEnd > start && isSpace(bytes[stackEnd - 1]) { stackEnd -= 1 }
        var first = value
        var second: UInt64?
        // A second count before it, as flamegraph.pl reads it: `stack COUNT1 COUNT2`.
        if let (earlier, earlierStart) = try? lastCount(bytes, start: start, end: stackEnd, lineNumber: lineNumber),
           earlierStart > start {
            first = earlier
            second = value
            stackEnd = earlierStart
            while stackEnd > start && isSpace(bytes[stackEnd - 1]) { stackEnd -= 1 }
        }
        if stackEnd == start { throw .emptyStack(line: lineNumber) }

        var frames: [String] = []
        var frameStart = start
        for i in start...stackEnd where i == stackEnd || bytes[i] == UInt8(ascii: ";") {
            if i == frameStart { throw .emptyFrame(line: lineNumber, index: frames.count) }
            frames.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[frameStart..<i]), as: UTF8.self))
            frameStart = i + 1
        }
        return FoldedStack(frames: frames, value: first, secondValue: second)
    }

    /// The whitespace-separated last field of `bytes[start..<end]` (no trailing whitespace) as a count,
    /// with where it begins; `nil` when there is no whitespace before it.
    private static func lastCount(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int,
                                  lineNumber: Int) throws(FoldedParseError) -> (UInt64, Int)? {
        var fieldStart = end
        while fieldStart > start && !isSpace(bytes[fieldStart - 1]) { fieldStart -= 1 }
        if fieldStart == start { return nil }
        let field = UnsafeBufferPointer(rebasing: bytes[fieldStart..<end])
        var value: UInt64 = 0
        for byte in field {
            guard byte >= 0x30 && byte <= 0x39 else {
                throw .invalidValue(line: lineNumber, text: String(decoding: field, as: UTF8.self))
            }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { throw .valueOverflow(line: lineNumber, text: String(decoding: field, as: UTF8.self)) }
            value = sum
        }
        return (value, fieldStart)
    }
}
