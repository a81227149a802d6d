// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.content

import android.content.res.AssetManager
import android.net.Uri
import java.io.File
import java.io.InputStream

abstract class Context {
    abstract val applicationContext: Context
    abstract val assets: AssetManager
    abstract val noBackupFilesDir: File
    abstract val cacheDir: File
    abstract val filesDir: File
    abstract val contentResolver: ContentResolver
}

abstract class ContentResolver {
    abstract fun openInputStream(uri: Uri): InputStream?
}
