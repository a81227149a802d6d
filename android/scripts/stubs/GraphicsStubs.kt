// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.graphics

import android.util.Size
import java.io.IOException
import java.nio.Buffer
import java.nio.ByteBuffer

abstract class Bitmap {
    enum class Config { ALPHA_8, RGB_565, ARGB_4444, ARGB_8888, RGBA_F16, HARDWARE, RGBA_1010102 }

    abstract val config: Config
    abstract val width: Int
    abstract val height: Int
    abstract val rowBytes: Int

    abstract fun copy(config: Config, isMutable: Boolean): Bitmap
    abstract fun copyPixelsToBuffer(dst: Buffer)
    abstract fun recycle()

    companion object {
        @JvmStatic fun createScaledBitmap(src: Bitmap, dstWidth: Int, dstHeight: Int, filter: Boolean): Bitmap = stub()

        @JvmStatic
        fun createBitmap(source: Bitmap, x: Int, y: Int, width: Int, height: Int, m: Matrix?, filter: Boolean): Bitmap = stub()
    }
}

object BitmapFactory {
    class Options {
        @JvmField var inJustDecodeBounds: Boolean = false
        @JvmField var inSampleSize: Int = 0
        @JvmField var inPreferredConfig: Bitmap.Config? = null
        @JvmField var outWidth: Int = 0
        @JvmField var outHeight: Int = 0
    }

    @JvmStatic fun decodeByteArray(data: ByteArray, offset: Int, length: Int, opts: Options?): Bitmap? = stub()
}

class Matrix {
    fun postScale(sx: Float, sy: Float): Boolean = stub()
    fun postRotate(degrees: Float): Boolean = stub()
}

class ImageDecoder private constructor() {
    abstract class Source

    class ImageInfo private constructor() {
        val size: Size get() = stub()
        val mimeType: String get() = stub()
    }

    class DecodeException private constructor() : IOException()

    fun interface OnHeaderDecodedListener {
        fun onHeaderDecoded(decoder: ImageDecoder, info: ImageInfo, source: Source)
    }

    var allocator: Int = 0

    fun setTargetSize(width: Int, height: Int): Unit = stub()

    companion object {
        const val ALLOCATOR_SOFTWARE: Int = 1

        @JvmStatic fun createSource(buffer: ByteBuffer): Source = stub()

        @JvmStatic fun decodeBitmap(src: Source, listener: OnHeaderDecodedListener): Bitmap = stub()
    }
}

object PixelFormat {
    const val RGBA_8888: Int = 1
}

private fun stub(): Nothing = throw UnsupportedOperationException("compile-time stub")
