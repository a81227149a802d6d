// Compile-time stand-ins for the few Android and AndroidX APIs the library module uses,
// so android/scripts/check.sh can type-check the module with kotlinc on a machine without
// the Android SDK. Signatures follow the Android API reference; nothing here ever runs.
// Not part of any build that ships.
@file:Suppress("unused", "UNUSED_PARAMETER")

package android.os

object Build {
    object VERSION {
        @JvmField val SDK_INT: Int = 0
    }

    object VERSION_CODES {
        const val P: Int = 28
        const val UPSIDE_DOWN_CAKE: Int = 34
    }
}
