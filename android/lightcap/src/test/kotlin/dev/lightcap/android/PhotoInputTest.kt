package dev.lightcap.android

import dev.lightcap.LightCapException
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException
import java.io.InputStream
import java.nio.file.Files
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import org.junit.After
import org.junit.Test

/**
 * The rules of [Photos] that need no device: reading a photo's bytes, the sizes it is
 * decoded to, EXIF turns, and which typed error each bad input gets. The format fixtures
 * (tests/images/formats, -Dlightcap.images) include a real HEIC and a truncated one.
 */
class PhotoInputTest {
    private val formats = File(System.getProperty("lightcap.images") ?: error("run with -Dlightcap.images=..."), "formats")
    private val work = Files.createTempDirectory("lightcap-photos").toFile()

    @After
    fun cleanUp() {
        work.deleteRecursively()
    }

    @Test
    fun aZeroByteFileIsAnEmptyImage() {
        val empty = File(work, "empty.jpg").apply { writeBytes(ByteArray(0)) }
        val error = assertFailsWith<LightCapException.EmptyImage> { PhotoInput.readAll("file $empty") { empty.inputStream() } }
        assertContains(error.message!!, "empty.jpg")
    }

    @Test
    fun aUriThatCannotBeOpenedIsAnIoError() {
        // What ContentResolver.openInputStream throws for a Uri no provider serves, and what it
        // returns (null) when a provider crashed.
        val unserved = "photo content://media/picker/0/nowhere/1"
        val error =
            assertFailsWith<LightCapException.Io> {
                PhotoInput.readAll(unserved) { throw FileNotFoundException("No content provider: content://media/picker/0/nowhere/1") }
            }
        assertContains(error.message!!, "content://media/picker/0/nowhere/1")
        assertFailsWith<LightCapException.Io> { PhotoInput.readAll(unserved) { null } }
        assertFailsWith<LightCapException.Io> { PhotoInput.readAll("photo") { throw SecurityException("permission revoked") } }
        val missing = File(work, "missing.heic")
        assertFailsWith<LightCapException.Io> { PhotoInput.readAll("file $missing") { missing.inputStream() } }
    }

    @Test
    fun aStreamThatFailsMidwayIsAnIoError() {
        val failing =
            object : InputStream() {
                private var left = 10

                override fun read(): Int = if (left-- > 0) 0x42 else throw IOException("the provider went away")
            }
        val error = assertFailsWith<LightCapException.Io> { PhotoInput.readAll("photo") { failing } }
        assertContains(error.message!!, "the provider went away")
    }

    @Test
    fun aHeaderOverThePixelLimitIsRefusedBeforeDecoding() {
        val error = assertFailsWith<LightCapException.ImageTooLarge> { PhotoInput.checkPixels(20_000, 20_000, Photos.MAX_PIXELS, "photo") }
        assertContains(error.message!!, "400000000 pixels")
        PhotoInput.checkPixels(8_000, 6_000, Photos.MAX_PIXELS, "photo") // a 48 MP phone photo passes
        assertFailsWith<LightCapException.ImageDecode> { PhotoInput.checkPixels(-1, -1, Photos.MAX_PIXELS, "photo") }
    }

    @Test
    fun photosAreDecodedSmallButNeverEnlarged() {
        assertEquals(597 to 448, PhotoInput.targetSize(4000, 3000, 448))
        assertEquals(448 to 597, PhotoInput.targetSize(3000, 4000, 448))
        assertEquals(448 to 448, PhotoInput.targetSize(8000, 8000, 448))
        assertEquals(320 to 240, PhotoInput.targetSize(320, 240, 448))
        assertEquals(2000 to 1, PhotoInput.targetSize(2000, 1, 448)) // a strip already has a short side below 448
        assertEquals(1 to 2000, PhotoInput.targetSize(1, 2000, 448))
        // inSampleSize: 8000x6000 -> 1000x750 (short side still >= 448); 16 would give 375.
        assertEquals(8, PhotoInput.sampleSize(8000, 6000, 448))
        assertEquals(1, PhotoInput.sampleSize(800, 600, 448))
        assertEquals(2, PhotoInput.sampleSize(900, 896, 448))
    }

    @Test
    fun exifOrientationsTurnAStoredPictureUpright() {
        // A 3x2 picture, cells numbered row by row; each orientation stores it so that its
        // turn gives it back (EXIF 2.32, tag 274).
        val upright = listOf(listOf(1, 2, 3), listOf(4, 5, 6))
        val stored =
            mapOf(
                1 to upright,
                2 to listOf(listOf(3, 2, 1), listOf(6, 5, 4)),
                3 to listOf(listOf(6, 5, 4), listOf(3, 2, 1)),
                4 to listOf(listOf(4, 5, 6), listOf(1, 2, 3)),
                5 to listOf(listOf(1, 4), listOf(2, 5), listOf(3, 6)),
                6 to listOf(listOf(3, 6), listOf(2, 5), listOf(1, 4)),
                7 to listOf(listOf(6, 3), listOf(5, 2), listOf(4, 1)),
                8 to listOf(listOf(4, 1), listOf(5, 2), listOf(6, 3)),
            )
        for ((orientation, picture) in stored) {
            assertEquals(upright, apply(PhotoInput.exifTurn(orientation), picture), "orientation $orientation")
        }
        assertEquals(PhotoInput.Turn(0, mirror = false), PhotoInput.exifTurn(0)) // missing or invalid tag
    }

    /** A [PhotoInput.Turn] as Photos applies it through a Matrix: mirror left-right, then turn clockwise. */
    private fun apply(turn: PhotoInput.Turn, picture: List<List<Int>>): List<List<Int>> {
        var rows = if (turn.mirror) picture.map { it.reversed() } else picture
        repeat(turn.degrees / 90) { rows = rows[0].indices.map { column -> rows.indices.reversed().map { rows[it][column] } } }
        return rows
    }

    @Test
    fun whatAndroidCannotDecodeIsNamed() {
        val heic = File(formats, "heic_photo.heic").readBytes()
        val truncated = File(formats, "heic_truncated.heic").readBytes()
        assertEquals("HEIC/HEIF", PhotoInput.formatOf(heic))
        assertEquals("HEIC/HEIF", PhotoInput.formatOf(truncated))
        assertEquals("JPEG", PhotoInput.formatOf(File(formats, "jpeg_truncated.jpg").readBytes()))
        assertEquals("PNG", PhotoInput.formatOf(File(formats, "png_named.jpg").readBytes()))
        assertEquals("WebP", PhotoInput.formatOf(File(formats, "webp_lossy.webp").readBytes()))

        // A truncated HEIC on Android 9+: broken data of a known format.
        val broken = PhotoInput.undecodable(truncated, "photo", "Input was incomplete.", sdkInt = 34)
        assertEquals(LightCapException.ImageDecode::class, broken::class)
        assertContains(broken.message!!, "HEIC/HEIF")
        // HEIC before Android 9: the format is named with the API level that reads it.
        val tooOld = PhotoInput.undecodable(heic, "photo", null, sdkInt = 26)
        assertEquals(LightCapException.UnsupportedImageFormat::class, tooOld::class)
        assertContains(tooOld.message!!, "API 28")
        // A text file: no format at all.
        val text = File(formats, "text_named.png").readBytes()
        assertEquals(LightCapException.UnsupportedImageFormat::class, PhotoInput.undecodable(text, "photo", null, 34)::class)
    }
}
