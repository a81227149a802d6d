// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.graphics

import java.nio.Buffer

abstract class Bitmap {
    enum class Config { ALPHA_8, RGB_565, ARGB_4444, ARGB_8888, RGBA_F16, HARDWARE, RGBA_1010102 }

    abstract val config: Config
    abstract val width: Int
    abstract val height: Int
    abstract val rowBytes: Int

    abstract fun copy(config: Config, isMutable: Boolean): Bitmap
    abstract fun copyPixelsToBuffer(dst: Buffer)
}

object PixelFormat {
    const val RGBA_8888: Int = 1
}
