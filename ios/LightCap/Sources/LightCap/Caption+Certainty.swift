// What an app should say about a caption, from the confidence the core attaches to it.
// Input: a Caption and the pack's ModelInfo (its unsure threshold). Output: a Certainty.
// The same rule as Kotlin's `Caption.certainty` (bindings/kotlin).

/// How a caption should be presented.
public enum Certainty: Sendable, Equatable {
    /// Confident: show the caption's sentence as it is.
    case sure
    /// `unsure`, but at least half the threshold: hedge ("Image may show ...").
    case unsure
    /// Confidence under half the threshold: "Cannot describe this image".
    case cannotDescribe
}

extension Caption {
    /// Sure unless `unsure`; an unsure caption is hedged while its confidence is at least
    /// half of `info.unsureThreshold`, and withheld below that.
    public func certainty(_ info: ModelInfo) -> Certainty {
        if !unsure { return .sure }
        return confidence >= info.unsureThreshold / 2 ? .unsure : .cannotDescribe
    }
}
