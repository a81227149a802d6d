package dev.lightcap.android

import android.graphics.Bitmap
import androidx.camera.core.ImageProxy
import dev.lightcap.ImageSource
import dev.lightcap.PixelFormat
import java.nio.ByteBuffer

/**
 * A bitmap's pixels as a raw frame, brought down first (if larger) to a short side of
 * [minSide]: the model looks at 224 x 224, so a full-size photo would only cost a larger
 * copy. ARGB_8888 bitmaps hold R, G, B, A bytes in memory, which is [PixelFormat.RGBA8];
 * other configurations (a HARDWARE bitmap too) are converted first. The bitmap is left as
 * it was; photos still encoded go through [Photos] instead, which decodes them small.
 */
fun Bitmap.toImageSource(minSide: Int = Photos.MIN_SIDE): ImageSource {
    val software = if (config == Bitmap.Config.HARDWARE) copy(Bitmap.Config.ARGB_8888, false) else this
    val (width, height) = PhotoInput.targetSize(software.width, software.height, minSide)
    val scaled =
        if (width == software.width && height == software.height) software else Bitmap.createScaledBitmap(software, width, height, true)
    val argb = if (scaled.config == Bitmap.Config.ARGB_8888) scaled else scaled.copy(Bitmap.Config.ARGB_8888, false)
    val pixels = ByteBuffer.allocate(argb.rowBytes * argb.height)
    argb.copyPixelsToBuffer(pixels)
    val frame = ImageSource.Frame(pixels.array(), argb.width, argb.height, argb.rowBytes, PixelFormat.RGBA8)
    for (made in setOf(software, scaled, argb)) if (made !== this) made.recycle()
    return frame
}

/**
 * A CameraX frame from an `ImageAnalysis` set to `OUTPUT_IMAGE_FORMAT_RGBA_8888` (with
 * `setOutputImageRotationEnabled(true)` so the pixels are upright). The pixels are copied:
 * close the [ImageProxy] as soon as this returns so the camera can reuse its buffer.
 */
fun ImageProxy.toImageSource(): ImageSource {
    require(format == android.graphics.PixelFormat.RGBA_8888) {
        "ImageAnalysis must use OUTPUT_IMAGE_FORMAT_RGBA_8888 (got format $format)"
    }
    val plane = planes[0]
    val buffer = plane.buffer.duplicate().apply { rewind() }
    val pixels = ByteArray(buffer.remaining()).also { buffer.get(it) }
    return ImageSource.Frame(pixels, width, height, plane.rowStride, PixelFormat.RGBA8)
}
