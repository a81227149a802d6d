package dev.lightcap.android

import android.net.Uri
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import dev.lightcap.ImageSource
import dev.lightcap.LightCapException
import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.io.File
import java.util.zip.CRC32
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlinx.coroutines.runBlocking
import org.junit.Test
import org.junit.runner.RunWith

/**
 * [Photos] with Android's own decoders, on a device or emulator (`./gradlew
 * :lightcap:connectedAndroidTest`): the format fixtures of tests/images/formats are this
 * test's assets. Type-checked against stubs by android/scripts/check.sh, run only where
 * Android runs.
 */
@RunWith(AndroidJUnit4::class)
class PhotosDeviceTest {
    private val context = InstrumentationRegistry.getInstrumentation().context
    private val scratch = InstrumentationRegistry.getInstrumentation().targetContext.cacheDir

    private fun fixture(name: String): ByteArray = context.assets.open(name).use { it.readBytes() }

    private fun frameOf(image: ImageSource): ImageSource.Frame = assertIs<ImageSource.Frame>(image)

    @Test
    fun aHeicPhotoDecodes() {
        // HEIF decoding arrived in Android 9; below it the typed error says so (PhotoInputTest).
        if (android.os.Build.VERSION.SDK_INT < android.os.Build.VERSION_CODES.P) return
        val frame = frameOf(Photos.fromBytes(fixture("heic_photo.heic")))
        assertEquals(96 to 64, frame.width to frame.height)
    }

    @Test
    fun exifTurnedJpegsComeOutUpright() {
        for (orientation in 1..8) {
            val frame = frameOf(Photos.fromBytes(fixture("jpeg_exif_$orientation.jpg")))
            assertEquals(96 to 64, frame.width to frame.height, "orientation $orientation")
        }
    }

    @Test
    fun largePhotosAreDecodedSmall() {
        val frame = frameOf(Photos.fromBytes(fixture("jpeg_large.jpg"))) // 1800x1200
        assertEquals(672 to 448, frame.width to frame.height)
    }

    @Test
    fun aTruncatedHeicIsADecodeError() {
        if (android.os.Build.VERSION.SDK_INT < android.os.Build.VERSION_CODES.P) return
        assertFailsWith<LightCapException.ImageDecode> { Photos.fromBytes(fixture("heic_truncated.heic")) }
    }

    @Test
    fun aZeroByteFileIsAnEmptyImage() {
        val empty = File(scratch, "empty.jpg").apply { writeBytes(ByteArray(0)) }
        assertFailsWith<LightCapException.EmptyImage> { runBlocking { Photos.fromFile(empty) } }
        assertFailsWith<LightCapException.EmptyImage> { runBlocking { Photos.fromUri(context, Uri.fromFile(empty)) } }
    }

    @Test
    fun aUriThatCannotBeOpenedIsAnIoError() {
        val unserved = Uri.parse("content://dev.lightcap.nowhere/photos/1")
        assertFailsWith<LightCapException.Io> { runBlocking { Photos.fromUri(context, unserved) } }
    }

    @Test
    fun aHeaderOverThePixelLimitIsRefused() {
        assertFailsWith<LightCapException.ImageTooLarge> { Photos.fromBytes(pngHeader(20_000, 20_000)) }
    }

    @Test
    fun textIsNoImage() {
        assertFailsWith<LightCapException.UnsupportedImageFormat> { Photos.fromBytes(fixture("text_named.png")) }
    }

    /** A PNG whose header declares [width] x [height] and whose pixels never come. */
    private fun pngHeader(width: Int, height: Int): ByteArray {
        val bytes = ByteArrayOutputStream()
        val out = DataOutputStream(bytes)
        out.write(byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10))
        val header = ByteArrayOutputStream().also { DataOutputStream(it).apply { writeInt(width); writeInt(height); write(byteArrayOf(8, 2, 0, 0, 0)) } }
        val chunk = "IHDR".toByteArray() + header.toByteArray()
        out.writeInt(13)
        out.write(chunk)
        out.writeInt(CRC32().apply { update(chunk) }.value.toInt())
        return bytes.toByteArray()
    }
}
