// The Android example of docs/app-developers.md, compiled by android/scripts/check.sh
// (against the Android stubs) and by Gradle with the module's unit tests; not run here,
// as it needs a device's assets. The region below is the guide's ```kotlin block word
// for word: scripts/tests/test_docs.py fails when they differ.
package dev.lightcap.android

import android.content.Context
import android.graphics.Bitmap

/** Open the app's bundled pack, caption a bitmap, close the engine; returns the sentence. */
suspend fun androidExample(context: Context, bitmap: Bitmap): String {
    // doc-example: android
    val engine = ModelPacks.openFromAssets(context)          // assets/lightcap-default, copied once
    val caption = engine.captionAsync(bitmap.toImageSource()) // on a LightCap thread
    engine.close()                                            // when the app is done: ViewModel.onCleared
    // end doc-example
    return caption.sentence
}
