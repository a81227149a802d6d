// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content.res

import java.io.InputStream

abstract class AssetManager {
    abstract fun list(path: String): Array<String>?
    abstract fun open(fileName: String): InputStream
}
