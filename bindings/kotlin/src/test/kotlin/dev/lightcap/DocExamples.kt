// The Kotlin examples of README.md and docs/app-developers.md, compiled and run with the
// JVM tests (EngineTest.theDocumentationExamplesRun). Each region between
// `// doc-example: NAME` and `// end doc-example` is, indentation aside, a ```kotlin
// block of those files word for word: scripts/tests/test_docs.py fails when they differ,
// so change both together. The parameters stand for what an app has at hand.
package dev.lightcap

/** The README's example: load, caption, announce, then follow a second caption as it forms. */
suspend fun readmeExample(
    packDir: String,
    jpegBytes: ByteArray,
    path: String,
    announce: (String) -> Unit,
    render: (CaptionUpdate) -> Unit,
) {
    // doc-example: readme
    Engine.load(packDir).use { engine ->                     // AutoCloseable; load is suspend
        val caption = engine.captionAsync(ImageSource.Encoded(jpegBytes), CaptionOptions(beamSize = 3))
        announce(caption.sentence)                            // e.g. View.announceForAccessibility
        engine.captionUpdates(ImageSource.File(path)).collect { update -> render(update) }
    }
    // end doc-example
}

/** The guide's blocking, cancellable caption and the sample apps' certainty rule; returns what to say. */
fun streamingExample(
    engine: Engine,
    path: String,
    showPartial: (String) -> Unit,
): String {
    // doc-example: streaming
    val token = CancellationToken()                          // token.cancel() from any thread
    val listener = object : CaptionListener {
        override fun onPartialCaption(text: String) = showPartial(text) // on the captioning thread
    }
    val caption = engine.captionStreaming(ImageSource.File(path), listener, token, CaptionOptions(beamSize = 3))
    val said = when (caption.certainty(engine.modelInfo())) {
        Certainty.SURE -> caption.sentence
        Certainty.UNSURE -> "Image may show ${caption.text}."
        Certainty.CANNOT_DESCRIBE -> "Cannot describe this image."
    }
    // end doc-example
    return said
}
