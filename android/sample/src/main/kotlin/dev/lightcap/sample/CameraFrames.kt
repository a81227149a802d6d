package dev.lightcap.sample

import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import dev.lightcap.android.toImageSource
import java.util.concurrent.atomic.AtomicBoolean

/**
 * The analysis use case's consumer: CameraX hands over only its latest frame
 * (STRATEGY_KEEP_ONLY_LATEST) and this passes it on when a caption is wanted (the next
 * frame after a tap, or every frame in continuous mode) and the view model is free.
 * Every frame is closed here, offered or dropped, so the camera never stalls.
 */
class CameraFrames(
    private val viewModel: CaptionViewModel,
    private val continuous: () -> Boolean,
) : ImageAnalysis.Analyzer {
    private val tapped = AtomicBoolean(false)

    /** Caption the next frame. */
    fun captureNext() = tapped.set(true)

    override fun analyze(image: ImageProxy) {
        image.use {
            val wanted = continuous() || tapped.get()
            if (wanted && viewModel.offerFrame { image.toImageSource() }) {
                tapped.set(false)
            }
        }
    }

    companion object {
        fun useCase(): ImageAnalysis =
            ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                // Upright pixels: the model was not trained on sideways pictures.
                .setOutputImageRotationEnabled(true)
                .build()
    }
}
