// See AndroidStubs.kt: compile-time stand-ins, never run, never shipped.
@file:Suppress("unused", "UNUSED_PARAMETER")

package androidx.test.ext.junit.runners

import org.junit.runner.Description
import org.junit.runner.Runner
import org.junit.runner.notification.RunNotifier

class AndroidJUnit4(klass: Class<*>) : Runner() {
    override fun getDescription(): Description = throw UnsupportedOperationException("compile-time stub")

    override fun run(notifier: RunNotifier): Unit = throw UnsupportedOperationException("compile-time stub")
}
