// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.test.platform.app

import android.content.Context

object InstrumentationRegistry {
    abstract class Instrumentation {
        abstract val context: Context
        abstract val targetContext: Context
    }

    @JvmStatic fun getInstrumentation(): Instrumentation = throw UnsupportedOperationException("compile-time stub")
}
