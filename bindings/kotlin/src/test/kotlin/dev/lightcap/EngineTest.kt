// The Kotlin bindings on the JVM, against a real pack (scripts/test-bindings.sh runs this).
// Captions are compared with the Rust core's own output for the same images, which the
// script writes with the CLI before the tests start.
package dev.lightcap

import java.awt.image.BufferedImage
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import javax.imageio.ImageIO
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.BeforeClass
import org.junit.Test

/** One line of the Rust core's results: what the same call must return here. */
data class Expected(
    val image: String,
    val beam: Int,
    val text: String,
    val logProb: Float,
    val tokens: List<String>,
    val concepts: List<Pair<String, Float>>,
    val confidence: Float,
    val unsure: Boolean,
)

class EngineTest {
    companion object {
        private fun property(name: String) =
            System.getProperty(name) ?: error("run with -D$name=... (see scripts/test-bindings.sh)")

        val packDir = File(property("lightcap.pack"))
        val imagesDir = File(property("lightcap.images"))
        val expected: List<Expected> =
            File(property("lightcap.expected")).readLines().filter { it.isNotBlank() }.map { line ->
                val fields = line.split('\t')
                val (image, beam, text, logProb, tokens, concepts) = fields
                Expected(
                    image,
                    beam.toInt(),
                    text,
                    logProb.toFloat(),
                    tokens.split(' ').filter { it.isNotEmpty() },
                    concepts.split('|').map { it.substringBeforeLast(':') to it.substringAfterLast(':').toFloat() },
                    fields[6].toFloat(),
                    fields[7].toBooleanStrict(),
                )
            }

        lateinit var engine: Engine

        @JvmStatic
        @BeforeClass
        fun loadEngine() {
            engine = Engine.fromPath(packDir.path)
        }

        @JvmStatic
        @AfterClass
        fun closeEngine() {
            engine.close()
        }

        private operator fun <T> List<T>.component6() = this[5]
    }

    private fun image(name: String) = File(imagesDir, name)

    /** Asserts [call] throws exactly a LightCapException of type [E] and returns it. */
    private inline fun <reified E : LightCapException> assertThrows(call: () -> Unit): E =
        assertIs<E>(assertFailsWith<LightCapException> { call() })

    private fun greedy(name: String) = expected.first { it.image == name && it.beam == 1 }

    private fun assertMatches(want: Expected, got: Caption) {
        assertEquals(want.text, got.text, "caption of ${want.image}, beam ${want.beam}")
        assertEquals(want.tokens, got.tokens)
        assertEquals(want.logProb, got.logProb, 1e-4f, "log-prob of ${want.image}")
        assertEquals(want.concepts.map { it.first }, got.concepts.map { it.name })
        want.concepts.zip(got.concepts).forEach { (w, g) -> assertEquals(w.second, g.score, 1e-5f) }
        assertEquals(want.confidence, got.confidence, 1e-4f, "confidence of ${want.image}")
        assertEquals(want.unsure, got.unsure, "unsure of ${want.image}")
        assertTrue(got.confidence in 0f..1f)
        assertEquals(got.unsure, got.confidence < engine.modelInfo().unsureThreshold)
    }

    /** Decodes a PNG with the JVM's own decoder into a raw frame, rows padded to [stride]. */
    private fun frame(name: String, format: PixelFormat, padding: Int): ImageSource.Frame {
        val decoded: BufferedImage = ImageIO.read(image(name))
        val (width, height) = decoded.width to decoded.height
        val stride = width * 4 + padding
        val pixels = ByteArray(stride * height)
        for (y in 0 until height) {
            for (x in 0 until width) {
                val argb = decoded.getRGB(x, y)
                val (r, g, b, a) = listOf(argb shr 16, argb shr 8, argb, argb ushr 24).map { (it and 0xff).toByte() }
                val at = y * stride + x * 4
                val channels = if (format == PixelFormat.BGRA8) listOf(b, g, r, a) else listOf(r, g, b, a)
                channels.forEachIndexed { i, v -> pixels[at + i] = v }
            }
        }
        return ImageSource.Frame(pixels, width, height, stride, format)
    }

    @Test
    fun certaintyHedgesUnsureCaptionsAndWithholdsVeryUnsureOnes() {
        val info = engine.modelInfo()
        assertTrue(info.unsureThreshold in 0f..1f)
        // The JVM tests run on x86, which has no native float16: the graphs stay float32.
        assertEquals(false, info.computesInFloat16)
        val caption = engine.caption(ImageSource.File(image(expected.first().image).path), CaptionOptions())
        val t = info.unsureThreshold
        assertEquals(Certainty.SURE, caption.copy(unsure = false, confidence = 0.99f).certainty(info))
        assertEquals(Certainty.UNSURE, caption.copy(unsure = true, confidence = 0.75f * t).certainty(info))
        assertEquals(Certainty.CANNOT_DESCRIBE, caption.copy(unsure = true, confidence = 0.25f * t).certainty(info))
    }

    @Test
    fun theDocumentationExamplesRun() {
        val spoken = mutableListOf<String>()
        val updates = mutableListOf<CaptionUpdate>()
        runBlocking {
            readmeExample(
                packDir.path,
                image("scene_wide.png").readBytes(),
                image("small.png").path,
                announce = { spoken += it },
                render = { updates += it },
            )
        }
        assertTrue(spoken.single().isNotBlank())
        assertIs<CaptionUpdate.Done>(updates.last())
        val partials = mutableListOf<String>()
        val said = streamingExample(engine, image("small.png").path) { partials += it }
        assertTrue(said.isNotBlank() && partials.isNotEmpty())
    }

    @Test
    fun captionsMatchTheRustCore() {
        assertTrue(expected.size >= 10, "expected results for several images and beams")
        for (want in expected) {
            val got = engine.caption(ImageSource.File(image(want.image).path), CaptionOptions(beamSize = want.beam))
            assertMatches(want, got)
            assertTrue(got.timings.totalMs > 0.0 && got.timings.decoderSteps > 0)
        }
    }

    @Test
    fun encodedBytesAndRawFramesGiveTheSameCaption() {
        val name = "scene_wide.png"
        val want = greedy(name)
        assertMatches(want, engine.caption(ImageSource.Encoded(image(name).readBytes())))
        // The JVM's PNG decoder gives the same pixels, so the frames must caption alike.
        assertMatches(want, engine.caption(frame(name, PixelFormat.RGBA8, padding = 0)))
        assertMatches(want, engine.caption(frame(name, PixelFormat.BGRA8, padding = 12)))
    }

    @Test
    fun theSentenceIsTheCaptionCapitalised() {
        val caption = engine.caption(ImageSource.File(image("small.png").path))
        assertEquals(caption.text.replaceFirstChar { it.uppercase() }, caption.sentence.removeSuffix("."))
        assertTrue(caption.sentence.endsWith(".") || caption.sentence.endsWith("?"))
    }

    @Test
    fun badImagesAndOptionsSurfaceAsTypedExceptions() {
        val png = image("scene_wide.png").readBytes()
        val options = { o: CaptionOptions -> engine.caption(ImageSource.Encoded(png), o) }
        assertThrows<LightCapException.EmptyImage> { engine.caption(ImageSource.Encoded(ByteArray(0))) }
        assertThrows<LightCapException.UnsupportedImageFormat> {
            engine.caption(ImageSource.Encoded("not an image at all".toByteArray()))
        }
        assertThrows<LightCapException.ImageDecode> { engine.caption(ImageSource.Encoded(png.copyOf(png.size / 2))) }
        assertThrows<LightCapException.Io> { engine.caption(ImageSource.File(image("no-such-image.png").path)) }
        assertThrows<LightCapException.InvalidFrame> {
            engine.caption(ImageSource.Frame(ByteArray(10), 4, 4, 16, PixelFormat.RGBA8))
        }
        assertThrows<LightCapException.InvalidFrame> {
            engine.caption(ImageSource.Frame(ByteArray(64), -4, 4, 16, PixelFormat.RGBA8))
        }
        assertContains(assertThrows<LightCapException.InvalidOption> { options(CaptionOptions(beamSize = 0)) }.message!!, "beam_size")
        assertContains(assertThrows<LightCapException.InvalidOption> { options(CaptionOptions(minLength = -1)) }.message!!, "min_length")
        assertThrows<LightCapException.ImageTooLarge> { options(CaptionOptions(maxImagePixels = 1000)) }
        // The engine is unharmed by all of that.
        assertMatches(greedy("scene_wide.png"), engine.caption(ImageSource.Encoded(png)))
    }

    /** A copy of the pack with one change, loaded; returns what loading threw. */
    private fun loadBroken(change: (File) -> Unit): LightCapException {
        val dir = Files.createTempDirectory("lightcap-pack").toFile()
        try {
            packDir.listFiles()!!.forEach { it.copyTo(File(dir, it.name)) }
            change(dir)
            return assertFailsWith<LightCapException> { Engine.fromPath(dir.path).close() }
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun brokenPacksSurfaceAsTypedExceptions() {
        assertIs<LightCapException.Io>(assertFailsWith<LightCapException> { Engine.fromPath("/no/such/pack") })
        val flipped =
            loadBroken { dir ->
                val graph = File(dir, "vision.onnx")
                val bytes = graph.readBytes()
                bytes[bytes.size / 2] = (bytes[bytes.size / 2].toInt() xor 0x55).toByte()
                graph.writeBytes(bytes)
            }
        assertIs<LightCapException.ChecksumMismatch>(flipped)
        assertContains(flipped.message!!, "vision.onnx")
        assertIs<LightCapException.Io>(loadBroken { dir -> File(dir, "tokenizer.json").delete() })
        assertIs<LightCapException.UnsupportedPackVersion>(
            loadBroken { dir ->
                val manifest = File(dir, "manifest.json")
                manifest.writeText(manifest.readText().replaceFirst("\"format_version\": 1", "\"format_version\": 99"))
            },
        )
        assertIs<LightCapException.InvalidPack>(loadBroken { dir -> File(dir, "manifest.json").writeText("{ not json") })
        val inMemory = packDir.listFiles()!!.associate { it.name to it.readBytes() }
        assertIs<LightCapException.InvalidPack>(
            assertFailsWith<LightCapException> { Engine.fromFiles(inMemory - "concepts.txt") },
        )
    }

    @Test
    fun packsLoadFromMemoryAndAsynchronously() {
        val want = greedy("scene_tall.png")
        val source = ImageSource.File(image(want.image).path)
        Engine.fromFiles(packDir.listFiles()!!.associate { it.name to it.readBytes() }).use {
            assertMatches(want, it.caption(source))
        }
        runBlocking {
            Engine.load(packDir.path).use { assertMatches(want, it.captionAsync(source)) }
            assertIs<LightCapException.Io>(assertFailsWith<LightCapException> { Engine.load("/no/such/pack") })
        }
        val info = engine.modelInfo()
        assertEquals(info.conceptCount, engine.conceptNames().size)
        assertEquals(want.concepts.size, info.conceptsPerCaption)
    }

    @Test
    fun aClosedEngineRefusesCalls() {
        val closed = Engine.fromPath(packDir.path)
        closed.use { it.caption(ImageSource.File(image("small.png").path)) }
        assertFailsWith<IllegalStateException> { closed.caption(ImageSource.File(image("small.png").path)) }
    }

    @Test
    fun defaultOptionsAreTheCores() {
        assertEquals(defaultCaptionOptions(), CaptionOptions())
    }

    @Test
    fun aTokenCancelsACaptionAndTheEngineStaysUsable() {
        val source = ImageSource.File(image("scene_wide.png").path)
        val cancelled = CancellationToken().apply { cancel() }
        val silent = object : CaptionListener { override fun onPartialCaption(text: String) {} }
        assertIs<LightCapException.Cancelled>(
            assertFailsWith<LightCapException> { engine.captionStreaming(source, silent, cancelled) },
        )

        // Cancel from inside the decoding loop, after the first partial caption.
        val token = CancellationToken()
        val partials = AtomicInteger()
        val cancelOnFirst =
            object : CaptionListener {
                override fun onPartialCaption(text: String) {
                    partials.incrementAndGet()
                    token.cancel()
                }
            }
        assertIs<LightCapException.Cancelled>(
            assertFailsWith<LightCapException> {
                engine.captionStreaming(source, cancelOnFirst, token, CaptionOptions(minLength = 10))
            },
        )
        assertEquals(1, partials.get(), "no decoder step runs after the cancel")
        assertMatches(greedy("scene_wide.png"), engine.caption(source))
    }

    @Test
    fun aThrowingListenerFailsItsCallButNotTheEngine() {
        val source = ImageSource.File(image("scene_wide.png").path)
        val throwing = object : CaptionListener { override fun onPartialCaption(text: String) = error("app bug") }
        // The Rust side turns the listener's exception into an error of this call.
        assertFailsWith<Exception> { engine.captionStreaming(source, throwing, CancellationToken()) }
        runBlocking {
            assertThrows<LightCapException.Internal> { engine.captionAsync(source, listener = throwing) }
        }
        assertMatches(greedy("scene_wide.png"), engine.caption(source))
    }

    @Test
    fun cancellingTheCoroutineCancelsTheCaption() {
        runBlocking {
            val firstPartial = CompletableDeferred<Unit>()
            val release = CountDownLatch(1)
            val partials = AtomicInteger()
            val listener =
                object : CaptionListener {
                    override fun onPartialCaption(text: String) {
                        if (partials.incrementAndGet() == 1) {
                            firstPartial.complete(Unit)
                            // Hold the decoder here until the coroutine is gone.
                            release.await(10, TimeUnit.SECONDS)
                        }
                    }
                }
            val source = ImageSource.File(image("scene_wide.png").path)
            val job = launch(Dispatchers.Default) { engine.captionAsync(source, CaptionOptions(minLength = 10), listener) }
            firstPartial.await()
            job.cancelAndJoin()
            release.countDown()
            // Without the cancel, nine more steps would report within milliseconds.
            Thread.sleep(300)
            assertEquals(1, partials.get(), "the caption went on after its coroutine was cancelled")
            assertTrue(job.isCancelled)
        }
    }

    @Test
    fun captionUpdatesStreamPartialsAndEndWithTheCaption() {
        runBlocking {
            val source = ImageSource.File(image("scene_tall.png").path)
            val updates = engine.captionUpdates(source).toList()
            val done = assertIs<CaptionUpdate.Done>(updates.last())
            assertMatches(greedy("scene_tall.png"), done.caption)
            assertTrue(updates.dropLast(1).all { it is CaptionUpdate.Partial })
            val failure = assertFailsWith<LightCapException> { engine.captionUpdates(ImageSource.Encoded(ByteArray(0))).toList() }
            assertIs<LightCapException.EmptyImage>(failure)
        }
    }

    /** Resident memory outside the Java heap (Linux /proc): where a native leak shows. */
    private fun nativeResidentBytes(): Long {
        val resident = File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }
        val kib = resident.split(Regex("\\s+"))[1].toLong()
        return kib * 1024 - Runtime.getRuntime().totalMemory()
    }

    @Test
    fun memoryStaysFlatOverAThousandCaptionsThroughTenClosedEngines() {
        val images = expected.map { it.image }.distinct().map { Files.readAllBytes(image(it).toPath()) }
        val samples = mutableListOf<Long>()
        repeat(10) { round ->
            Engine.fromPath(packDir.path).use { engine ->
                repeat(100) { call -> engine.caption(ImageSource.Encoded(images[(round + call) % images.size])) }
                assertThrows<LightCapException.EmptyImage> { engine.caption(ImageSource.Encoded(ByteArray(0))) }
            }
            System.gc()
            samples += nativeResidentBytes()
        }
        val trace = samples.map { "%.1f".format(it / 1048576.0) }
        println("native resident MiB after each engine: $trace")
        // A leaked engine would add megabytes per round (its graphs alone are 4 MB).
        val settled = samples[2]
        assertTrue(samples.drop(3).max() <= settled + 32L * 1024 * 1024, "native memory grew: $trace")
    }

    @Test
    fun eightThreadsSharingOneEngineGetTheSerialResults() {
        val names = expected.map { it.image }.distinct()
        val serial = names.associateWith { engine.caption(ImageSource.File(image(it).path)).text }
        val pool = Executors.newFixedThreadPool(8)
        try {
            val futures =
                (0 until 8).map { thread ->
                    pool.submit<List<Pair<String, String>>> {
                        // 100 captions per thread, each image in a different order per round.
                        (0 until 100 / names.size).flatMap { round ->
                            names.shuffled(kotlin.random.Random(thread * 10 + round)).map { name ->
                                name to engine.caption(ImageSource.File(image(name).path)).text
                            }
                        }
                    }
                }
            for (future in futures) {
                val results = future.get(5, TimeUnit.MINUTES)
                assertEquals(100, results.size)
                for ((name, text) in results) assertEquals(serial[name], text, name)
            }
        } finally {
            pool.shutdownNow()
        }
    }
}
