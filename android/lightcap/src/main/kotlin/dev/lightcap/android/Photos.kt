package dev.lightcap.android

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ImageDecoder
import android.graphics.Matrix
import android.media.ExifInterface
import android.net.Uri
import android.os.Build
import androidx.annotation.RequiresApi
import dev.lightcap.ImageSource
import dev.lightcap.LightCapException
import java.io.ByteArrayInputStream
import java.io.File
import java.io.IOException
import java.nio.ByteBuffer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Photos from the photo picker, the gallery or a file, decoded by Android and handed to
 * the engine as pixels. The core decodes JPEG, PNG and WebP itself, but not HEIC/HEIF
 * (what many phones save) or AVIF, and it would decode a 48 MP photo at full size
 * (190 MB of pixels) to look at 224 x 224 of it. Here Android's decoder (ImageDecoder
 * from API 28, BitmapFactory with `inSampleSize` below) goes straight to a short side of
 * [MIN_SIDE] pixels with the EXIF rotation applied.
 *
 * Every failure is a typed [LightCapException]: `Io` (the Uri or file cannot
 * be opened), `EmptyImage` (0 bytes), `ImageTooLarge` (more than `maxPixels` declared),
 * `UnsupportedImageFormat` (no image, or a format this Android version lacks) and
 * `ImageDecode` (damaged or truncated data).
 */
object Photos {
    /**
     * Short side photos are decoded to: twice the bundled pack's 224-pixel input, so the
     * core's own antialiased resize (after its centre crop) makes the last step.
     */
    const val MIN_SIDE: Int = 448

    /** Photos declaring more pixels are refused before decoding: the core's default `maxImagePixels`. */
    const val MAX_PIXELS: Long = 64_000_000L

    /** The photo a content [uri] names (a `PickVisualMedia` result, a share intent's stream); on [Dispatchers.IO]. */
    suspend fun fromUri(
        context: Context,
        uri: Uri,
        minSide: Int = MIN_SIDE,
        maxPixels: Long = MAX_PIXELS,
    ): ImageSource =
        withContext(Dispatchers.IO) {
            val what = "photo $uri"
            decode(PhotoInput.readAll(what) { context.contentResolver.openInputStream(uri) }, what, minSide, maxPixels)
        }

    /** The photo in [file]; on [Dispatchers.IO]. */
    suspend fun fromFile(file: File, minSide: Int = MIN_SIDE, maxPixels: Long = MAX_PIXELS): ImageSource =
        withContext(Dispatchers.IO) {
            val what = "file ${file.path}"
            decode(PhotoInput.readAll(what) { file.inputStream() }, what, minSide, maxPixels)
        }

    /** An encoded photo already in memory (HEIC too). Decodes on the calling thread: not the main one. */
    fun fromBytes(bytes: ByteArray, minSide: Int = MIN_SIDE, maxPixels: Long = MAX_PIXELS): ImageSource =
        decode(bytes, "the photo's ${bytes.size} bytes", minSide, maxPixels)

    private fun decode(bytes: ByteArray, what: String, minSide: Int, maxPixels: Long): ImageSource {
        if (bytes.isEmpty()) throw LightCapException.EmptyImage("$what: no bytes")
        val bitmap =
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
                decodeWithImageDecoder(bytes, what, minSide, maxPixels)
            } else {
                decodeWithBitmapFactory(bytes, what, minSide, maxPixels)
            }
        return try {
            bitmap.toImageSource(minSide)
        } finally {
            bitmap.recycle()
        }
    }

    /** ImageDecoder reads HEIF (and AVIF from API 31), samples while decoding and applies EXIF rotation itself. */
    @RequiresApi(Build.VERSION_CODES.P)
    private fun decodeWithImageDecoder(bytes: ByteArray, what: String, minSide: Int, maxPixels: Long): Bitmap {
        val source = ImageDecoder.createSource(ByteBuffer.wrap(bytes))
        return try {
            ImageDecoder.decodeBitmap(source) { decoder, info, _ ->
                PhotoInput.checkPixels(info.size.width, info.size.height, maxPixels, what)
                val (width, height) = PhotoInput.targetSize(info.size.width, info.size.height, minSide)
                decoder.setTargetSize(width, height)
                // A hardware bitmap keeps its pixels on the GPU, where the engine cannot read them.
                decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE
            }
        } catch (e: IOException) { // ImageDecoder.DecodeException included
            throw PhotoInput.undecodable(bytes, what, e.message, Build.VERSION.SDK_INT)
        } catch (e: IllegalArgumentException) {
            throw PhotoInput.undecodable(bytes, what, e.message, Build.VERSION.SDK_INT)
        }
    }

    /** Before API 28: the header first (size, limit), then a power-of-two sampled decode, then the EXIF turn. */
    private fun decodeWithBitmapFactory(bytes: ByteArray, what: String, minSide: Int, maxPixels: Long): Bitmap {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeByteArray(bytes, 0, bytes.size, bounds)
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            throw PhotoInput.undecodable(bytes, what, null, Build.VERSION.SDK_INT)
        }
        PhotoInput.checkPixels(bounds.outWidth, bounds.outHeight, maxPixels, what)
        val options =
            BitmapFactory.Options().apply {
                inSampleSize = PhotoInput.sampleSize(bounds.outWidth, bounds.outHeight, minSide)
                inPreferredConfig = Bitmap.Config.ARGB_8888
            }
        val sampled =
            BitmapFactory.decodeByteArray(bytes, 0, bytes.size, options)
                ?: throw PhotoInput.undecodable(bytes, what, "the header was read, the pixels were not", Build.VERSION.SDK_INT)
        return turned(sampled, PhotoInput.exifTurn(exifOrientation(bytes)))
    }

    private fun exifOrientation(bytes: ByteArray): Int =
        try {
            ExifInterface(ByteArrayInputStream(bytes)).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
        } catch (e: IOException) {
            ExifInterface.ORIENTATION_NORMAL // no readable EXIF: stored upright
        }

    private fun turned(bitmap: Bitmap, turn: PhotoInput.Turn): Bitmap {
        if (turn.degrees == 0 && !turn.mirror) return bitmap
        val matrix =
            Matrix().apply {
                if (turn.mirror) postScale(-1f, 1f)
                postRotate(turn.degrees.toFloat())
            }
        val upright = Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, matrix, true)
        if (upright !== bitmap) bitmap.recycle()
        return upright
    }
}
