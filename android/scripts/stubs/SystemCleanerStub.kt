// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused")

package android.system

object SystemCleaner {
    @JvmStatic fun cleaner(): java.lang.ref.Cleaner = throw UnsupportedOperationException("stub")
}
