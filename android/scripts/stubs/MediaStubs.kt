// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.media

import java.io.InputStream

class ExifInterface(inputStream: InputStream) {
    fun getAttributeInt(tag: String, defaultValue: Int): Int = throw UnsupportedOperationException("compile-time stub")

    companion object {
        const val TAG_ORIENTATION: String = "Orientation"
        const val ORIENTATION_NORMAL: Int = 1
    }
}
