// Kotlin conveniences over the generated bindings (build/bindings/kotlin, from
// scripts/generate-bindings.sh). The generated API already gives `Engine.load` and
// `Engine.captionAsync` as suspend functions that run on a LightCap thread and
// cancel with the coroutine, and `Engine` is AutoCloseable (`engine.use { }`).
// What it lacks is a Flow of the caption as it forms, which UIs want.
package dev.lightcap

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.conflate

/** One event of [captionUpdates]. */
sealed interface CaptionUpdate {
    /** The best caption so far, while the decoder runs. */
    data class Partial(val text: String) : CaptionUpdate

    /** The finished caption: always the last update. */
    data class Done(val caption: Caption) : CaptionUpdate
}

/**
 * Captions [image] as a cold [Flow]: partial captions as the decoder forms them, then
 * [CaptionUpdate.Done]. The work runs on a LightCap thread, never the collector's, and
 * cancelling the collector cancels the caption. A slow collector skips partials (only the
 * newest matters to a UI) but always receives `Done`. Errors are thrown as
 * [LightCapException] from `collect`.
 */
fun Engine.captionUpdates(
    image: ImageSource,
    options: CaptionOptions = CaptionOptions(),
): Flow<CaptionUpdate> =
    channelFlow {
        val listener =
            object : CaptionListener {
                // Called on the captioning thread; trySend never blocks it.
                override fun onPartialCaption(text: String) {
                    trySend(CaptionUpdate.Partial(text))
                }
            }
        send(CaptionUpdate.Done(captionAsync(image, options, listener)))
    }.conflate()
