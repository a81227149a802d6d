// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused")

package androidx.camera.core

import java.nio.ByteBuffer

interface ImageProxy : AutoCloseable {
    val format: Int
    val width: Int
    val height: Int
    val planes: Array<PlaneProxy>

    interface PlaneProxy {
        val buffer: ByteBuffer
        val rowStride: Int
        val pixelStride: Int
    }
}

class ImageAnalysis private constructor() {
    fun interface Analyzer {
        fun analyze(image: ImageProxy)
    }

    class Builder {
        fun setOutputImageFormat(format: Int): Builder = this
        fun setOutputImageRotationEnabled(enabled: Boolean): Builder = this
        fun setBackpressureStrategy(strategy: Int): Builder = this
        fun build(): ImageAnalysis = throw UnsupportedOperationException("compile-time stub")
    }

    fun setAnalyzer(executor: java.util.concurrent.Executor, analyzer: Analyzer): Unit =
        throw UnsupportedOperationException("compile-time stub")

    companion object {
        const val STRATEGY_KEEP_ONLY_LATEST: Int = 0
        const val OUTPUT_IMAGE_FORMAT_RGBA_8888: Int = 2
    }
}
