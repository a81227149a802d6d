package dev.lightcap.android

import android.graphics.Bitmap
import androidx.camera.core.ImageProxy
import dev.lightcap.ImageSource
import dev.lightcap.PixelFormat
import java.nio.ByteBuffer

/**
 * A bitmap's pixels as a raw frame. ARGB_8888 bitmaps hold R, G, B, A bytes in memory,
 * which is [PixelFormat.RGBA8]; other configurations are converted first.
 */
fun Bitmap.toImageSource(): ImageSource {
    val argb = if (config == Bitmap.Config.ARGB_8888) this else copy(Bitmap.Config.ARGB_8888, false)
    val pixels = ByteBuffer.allocate(argb.rowBytes * argb.height)
    argb.copyPixelsToBuffer(pixels)
    return ImageSource.Frame(pixels.array(), argb.width, argb.height, argb.rowBytes, PixelFormat.RGBA8)
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
