// What an app should say about a caption, from the confidence the core attaches to it.
// Input: a Caption and the pack's ModelInfo (its unsure threshold). Output: a Certainty.
package dev.lightcap

/** How a caption should be presented; the sample apps' rule, shared with Swift's `Certainty`. */
enum class Certainty {
    /** Confident: show the caption's sentence as it is. */
    SURE,

    /** `unsure`, but at least half the threshold: hedge ("Image may show ..."). */
    UNSURE,

    /** Confidence under half the threshold: "Cannot describe this image". */
    CANNOT_DESCRIBE,
}

/**
 * Sure unless [Caption.unsure]; an unsure caption is hedged while its confidence is at
 * least half of [ModelInfo.unsureThreshold], and withheld below that (noise, flat colour
 * and text pages sit there with a calibrated pack).
 */
fun Caption.certainty(info: ModelInfo): Certainty =
    when {
        !unsure -> Certainty.SURE
        confidence >= info.unsureThreshold / 2 -> Certainty.UNSURE
        else -> Certainty.CANNOT_DESCRIBE
    }
