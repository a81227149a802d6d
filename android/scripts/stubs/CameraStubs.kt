// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused")

package androidx.camera.core

import java.nio.ByteBuffer

interface ImageProxy : AutoCloseable {
    val format: Int
    val width: Int
    val height: Int
    val planes: Array<PlaneProxy>

    interface PlaneProxy {
        val buffer: ByteBuffer
        val rowStride: Int
        val pixelStride: Int
    }
}
