package dev.lightcap.android

import dev.lightcap.ImageSource
import dev.lightcap.LightCapException
import java.io.File
import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.junit.After
import org.junit.Test

/** The installer against a real pack, with a folder standing in for APK assets. */
class PackInstallerTest {
    private val pack = File(System.getProperty("lightcap.pack") ?: error("run with -Dlightcap.pack=..."))
    private val image = File(System.getProperty("lightcap.images"), "scene_wide.png")
    private val work = Files.createTempDirectory("lightcap-install").toFile()
    private val assets = File(work, "assets").also { pack.copyRecursively(it) }
    private val target = File(work, "files/lightcap/lightcap-default")
    private var opened = 0

    private fun installer() =
        PackInstaller(
            fileNames = { assets.list()!!.sorted() },
            openFile = { name -> opened++; File(assets, name).inputStream() },
            target = target,
        )

    private fun flipByteOf(file: File) {
        val bytes = file.readBytes()
        bytes[bytes.size / 2] = (bytes[bytes.size / 2].toInt() xor 0x5a).toByte()
        file.writeBytes(bytes)
    }

    @After
    fun cleanUp() {
        work.deleteRecursively()
    }

    @Test
    fun copiesOnceThenOpensInPlace() {
        installer().openEngine().use { it.caption(ImageSource.File(image.path)) }
        assertEquals(assets.list()!!.sorted(), target.list()!!.sorted())
        assertFalse(File(target.parentFile, "${target.name}.installing").exists(), "staging folder left behind")
        opened = 0
        installer().openEngine().close()
        assertEquals(1, opened, "a second start reads only the manifest")
    }

    @Test
    fun aChangedPackIsCopiedAgain() {
        installer().install()
        File(assets, "manifest.json").appendText("\n")
        assertTrue(installer().install())
        installer().openEngine().close()
    }

    @Test
    fun aDamagedCopyIsRepaired() {
        installer().install()
        flipByteOf(File(target, "vision.onnx"))
        installer().openEngine().use { it.caption(ImageSource.File(image.path)) }
    }

    @Test
    fun aDamagedSourceIsRefused() {
        flipByteOf(File(assets, "decoder.onnx"))
        assertIs<LightCapException.ChecksumMismatch>(assertFailsWith<LightCapException> { installer().openEngine() })
    }
}
