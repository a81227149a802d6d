// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.net

abstract class Uri {
    companion object {
        @JvmStatic fun parse(uriString: String): Uri = throw UnsupportedOperationException("compile-time stub")

        @JvmStatic fun fromFile(file: java.io.File): Uri = throw UnsupportedOperationException("compile-time stub")
    }
}
