// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content

import android.content.res.AssetManager
import java.io.File

abstract class Context {
    abstract val applicationContext: Context
    abstract val assets: AssetManager
    abstract val noBackupFilesDir: File
}
