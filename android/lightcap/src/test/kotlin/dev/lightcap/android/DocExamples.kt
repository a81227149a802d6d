// The Android examples of README.md, docs/android.md and docs/app-developers.md, compiled
// by android/scripts/check.sh (against the Android stubs) and by Gradle with the module's
// unit tests; not run here, as they need a device. Each region below is a ```kotlin block
// of those pages word for word: scripts/tests/test_docs.py fails when they differ. The
// parameters stand for what an app has at hand.
package dev.lightcap.android

import android.content.Context
import android.graphics.Bitmap
import android.net.Uri
import androidx.camera.core.ImageAnalysis
import dev.lightcap.Caption
import dev.lightcap.Certainty
import dev.lightcap.Engine
import dev.lightcap.LightCapException
import dev.lightcap.certainty
import java.io.File
import java.util.concurrent.Executor
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Semaphore
import kotlinx.coroutines.sync.withPermit

/** The README's Android example: the bundled pack, a picked photo, TalkBack. */
suspend fun readmeAndroidExample(context: Context, uri: Uri, announce: (String) -> Unit) {
    // doc-example: readme-android
    val engine = ModelPacks.openFromAssets(context)               // once: assets/lightcap-default
    val caption = engine.captionAsync(Photos.fromUri(context, uri)) // a picked photo, HEIC too
    announce(caption.sentence)                                    // e.g. view.announceForAccessibility
    // end doc-example
    engine.close()
}

/** Open the app's bundled pack, caption a bitmap, close the engine; returns the sentence. */
suspend fun androidExample(context: Context, bitmap: Bitmap): String {
    // doc-example: android
    val engine = ModelPacks.openFromAssets(context)          // assets/lightcap-default, copied once
    val caption = engine.captionAsync(bitmap.toImageSource()) // on a LightCap thread
    engine.close()                                            // when the app is done: ViewModel.onCleared
    // end doc-example
    return caption.sentence
}

/** docs/android.md, "Load it once": from the APK's assets, or from a folder the app downloaded. */
suspend fun loadExamples(context: Context): List<Engine> {
    // doc-example: android-load
    // Once per process, in a ViewModel or the Application; both run on Dispatchers.IO.
    val engine = ModelPacks.openFromAssets(context) // src/main/assets/lightcap-default/
    // Or a pack the app downloaded and unpacked itself:
    val downloaded = ModelPacks.openFromPath(File(context.filesDir, "packs/lightcap-default").path)
    // end doc-example
    return listOf(engine, downloaded)
}

/** docs/android.md, "Caption a gallery photo". */
suspend fun galleryExample(context: Context, engine: Engine, uri: Uri): Caption {
    // doc-example: android-gallery
    // uri: from the photo picker (ActivityResultContracts.PickVisualMedia), a share intent, ...
    val image = Photos.fromUri(context, uri) // Android decodes it (HEIC too): small, upright
    val caption = engine.captionAsync(image) // on a LightCap thread; cancelled with the coroutine
    // end doc-example
    return caption
}

/** docs/android.md, "Caption camera frames". */
fun cameraExample(engine: Engine, executor: Executor, scope: CoroutineScope, show: (Caption) -> Unit): ImageAnalysis {
    // doc-example: android-camera
    val analysis = ImageAnalysis.Builder()
        .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
        .setOutputImageRotationEnabled(true) // upright pixels: the model saw no sideways photos
        .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
        .build()
    val busy = AtomicBoolean(false)
    analysis.setAnalyzer(executor) { frame ->
        frame.use {                                    // always close: the camera reuses the buffer
            if (busy.compareAndSet(false, true)) {     // one caption at a time; drop frames meanwhile
                val image = frame.toImageSource()      // copies the pixels
                scope.launch {
                    try { show(engine.captionAsync(image)) } finally { busy.set(false) }
                }
            }
        }
    }
    // end doc-example
    return analysis
}

/** docs/android.md, "Threads": a gallery's captions one at a time. */
class GalleryCaptions(private val context: Context, private val engine: Engine) {
    // doc-example: android-gallery-queue
    private val oneAtATime = Semaphore(permits = 1)

    // Called from each visible cell's coroutine (LaunchedEffect, a RecyclerView holder's Job):
    // a cell scrolled away cancels its coroutine, and with it its waiting or running caption.
    suspend fun captionFor(uri: Uri): Caption = oneAtATime.withPermit {
        engine.captionAsync(Photos.fromUri(context, uri))
    }
    // end doc-example
}

/** docs/android.md, "Speak the result": what TalkBack should say for a caption. */
fun spokenExample(engine: Engine, caption: Caption): String {
    // doc-example: android-speak
    val spoken = when (caption.certainty(engine.modelInfo())) {
        Certainty.SURE -> caption.sentence                        // "A dog on a beach."
        Certainty.UNSURE -> "Image may show ${caption.text}."     // a hedge
        Certainty.CANNOT_DESCRIBE -> "Cannot describe this image." // noise, flat colour, text
    }
    // end doc-example
    return spoken
}

/** docs/android.md, "Errors". */
suspend fun errorsExample(context: Context, engine: Engine, uri: Uri, show: (String) -> Unit) {
    // doc-example: android-errors
    try {
        show(engine.captionAsync(Photos.fromUri(context, uri)).sentence)
    } catch (e: LightCapException.Io) {
        show("This photo can no longer be opened.")      // deleted, or access revoked
    } catch (e: LightCapException.UnsupportedImageFormat) {
        show("This photo's format cannot be read here.") // e.g. HEIC before Android 9
    } catch (e: LightCapException) {
        show("No description: ${e.message}")             // every case names what was wrong
    }
    // end doc-example
}
