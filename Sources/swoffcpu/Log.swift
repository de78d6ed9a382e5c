import Logging

/// swoffcpu's diagnostics (swift-log): warnings always, details with -v. Errors that end
/// the run are not logged here but printed by `Diagnostics.fail` as one line.
enum Log {
    static func bootstrap(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }

    static let logger = Logger(label: "swoffcpu")
}
