package dev.lightcap.android

import dev.lightcap.LightCapException
import java.io.ByteArrayOutputStream
import java.io.FileNotFoundException
import java.io.IOException
import java.io.InputStream
import kotlin.math.roundToInt

/**
 * The platform-free half of [Photos]: reading a photo's bytes, the size to decode it to,
 * its EXIF orientation as a turn, and the typed error for what went wrong. Plain JVM code,
 * so these rules are tested off the device (PhotoInputTest); [Photos] calls Android's
 * decoders with them.
 */
internal object PhotoInput {
    /** Files above this are refused unread: no camera writes one, and it would fill the heap. */
    const val MAX_FILE_BYTES: Long = 256L shl 20

    /**
     * All bytes of the photo [openStream] gives ([what] names it in errors). A stream that cannot
     * be opened (no such file, a revoked or foreign `Uri`, no permission) is an `Io` error;
     * zero bytes are `EmptyImage`; a file over [MAX_FILE_BYTES] is `ImageTooLarge`.
     */
    fun readAll(what: String, openStream: () -> InputStream?): ByteArray {
        val stream = opened(what, openStream) ?: throw LightCapException.Io("cannot open $what: its provider returned no stream")
        val bytes = stream.use { readCapped(it, what) }
        if (bytes.isEmpty()) throw LightCapException.EmptyImage("$what is empty (0 bytes)")
        return bytes
    }

    private fun opened(what: String, openStream: () -> InputStream?): InputStream? =
        try {
            openStream()
        } catch (e: FileNotFoundException) {
            throw LightCapException.Io("cannot open $what: ${e.message}")
        } catch (e: SecurityException) {
            throw LightCapException.Io("no permission to read $what: ${e.message}")
        } catch (e: IOException) {
            throw LightCapException.Io("cannot open $what: ${e.message}")
        }

    private fun readCapped(input: InputStream, what: String): ByteArray {
        val out = ByteArrayOutputStream()
        val chunk = ByteArray(64 shl 10)
        var total = 0L
        while (true) {
            val read =
                try {
                    input.read(chunk)
                } catch (e: IOException) {
                    throw LightCapException.Io("reading $what failed after $total bytes: ${e.message}")
                }
            if (read < 0) return out.toByteArray()
            total += read
            if (total > MAX_FILE_BYTES) {
                throw LightCapException.ImageTooLarge("$what is larger than ${MAX_FILE_BYTES shr 20} MiB; no photo is")
            }
            out.write(chunk, 0, read)
        }
    }

    /** Refuses a header size that is unreadable or over [maxPixels], before any pixel is decoded. */
    fun checkPixels(width: Int, height: Int, maxPixels: Long, what: String) {
        if (width <= 0 || height <= 0) {
            throw LightCapException.ImageDecode("$what declares no usable size (${width}x$height): damaged or truncated")
        }
        val pixels = width.toLong() * height
        if (pixels > maxPixels) {
            throw LightCapException.ImageTooLarge(
                "$what is ${width}x$height = $pixels pixels, more than the limit of $maxPixels",
            )
        }
    }

    /**
     * The size to decode a [width] x [height] photo to: its short side brought down to
     * [minSide], the aspect kept; a photo already that small keeps its size.
     */
    fun targetSize(width: Int, height: Int, minSide: Int): Pair<Int, Int> {
        require(minSide > 0) { "minSide must be positive (got $minSide)" }
        val short = minOf(width, height)
        if (short <= minSide) return width to height
        val scale = minSide.toDouble() / short
        val scaled = { side: Int -> if (side == short) minSide else maxOf(minSide, (side * scale).roundToInt()) }
        return scaled(width) to scaled(height)
    }

    /** `BitmapFactory.Options.inSampleSize`: the largest power of two that keeps the short side at least [minSide]. */
    fun sampleSize(width: Int, height: Int, minSide: Int): Int {
        val short = minOf(width, height)
        var sample = 1
        while (short / (sample * 2) >= minSide) sample *= 2
        return sample
    }

    /** How to show a stored image upright: mirror left-right first (if [mirror]), then turn [degrees] clockwise. */
    data class Turn(val degrees: Int, val mirror: Boolean)

    /** EXIF orientation 1-8 (TIFF tag 274) as a [Turn]; anything else is upright. */
    fun exifTurn(orientation: Int): Turn =
        when (orientation) {
            2 -> Turn(0, mirror = true)
            3 -> Turn(180, mirror = false)
            4 -> Turn(180, mirror = true)
            5 -> Turn(270, mirror = true)
            6 -> Turn(90, mirror = false)
            7 -> Turn(90, mirror = true)
            8 -> Turn(270, mirror = false)
            else -> Turn(0, mirror = false)
        }

    /**
     * The typed error for [bytes] Android could not decode: data of a format it knows but
     * broken (`ImageDecode`), a format this Android version lacks or no image format at all
     * (`UnsupportedImageFormat`). [sdkInt] is `Build.VERSION.SDK_INT`.
     */
    fun undecodable(bytes: ByteArray, what: String, reason: String?, sdkInt: Int): LightCapException {
        val format = formatOf(bytes)
        val because = reason?.let { ": $it" } ?: ""
        val since = format?.let { FIRST_API[it] } ?: 1
        return when {
            format == null -> {
                val head = bytes.take(8).joinToString(" ") { "%02x".format(it) }
                LightCapException.UnsupportedImageFormat("$what is no image format Android decodes (it starts $head)")
            }
            sdkInt < since ->
                LightCapException.UnsupportedImageFormat(
                    "$what is $format, which Android decodes from API $since; this device runs API $sdkInt",
                )
            else -> LightCapException.ImageDecode("$what is $format data Android could not decode (damaged or truncated)$because")
        }
    }

    /** First Android API level whose decoders read each format; the rest read everything since API 1. */
    private val FIRST_API = mapOf("HEIC/HEIF" to 28, "AVIF" to 31)

    /** The format named by the file's first bytes, or null. */
    fun formatOf(bytes: ByteArray): String? {
        fun at(offset: Int, vararg expected: Int) =
            bytes.size >= offset + expected.size && expected.indices.all { bytes[offset + it].toInt() and 0xff == expected[it] }
        fun ascii(offset: Int, text: String) = at(offset, *text.map { it.code }.toIntArray())
        return when {
            at(0, 0xff, 0xd8, 0xff) -> "JPEG"
            at(0, 0x89, 0x50, 0x4e, 0x47) -> "PNG"
            ascii(0, "GIF8") -> "GIF"
            ascii(0, "RIFF") && ascii(8, "WEBP") -> "WebP"
            ascii(0, "BM") -> "BMP"
            ascii(4, "ftyp") -> isoMediaFormat(bytes)
            else -> null
        }
    }

    /** HEIC/HEIF or AVIF by the brands of an ISO media `ftyp` box (major brand, then compatible ones). */
    private fun isoMediaFormat(bytes: ByteArray): String? {
        val boxEnd = minOf(bytes.size, ((bytes[0].toInt() and 0xff) shl 24) or ((bytes[1].toInt() and 0xff) shl 16) or
            ((bytes[2].toInt() and 0xff) shl 8) or (bytes[3].toInt() and 0xff))
        val brands = (8 until maxOf(8, boxEnd - 3) step 4).filter { it != 12 }.map { String(bytes, it, 4, Charsets.US_ASCII) }
        return when {
            brands.any { it == "avif" || it == "avis" } -> "AVIF"
            brands.any { it in HEIF_BRANDS } -> "HEIC/HEIF"
            else -> null
        }
    }

    private val HEIF_BRANDS = setOf("heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1")
}
