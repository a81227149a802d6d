package dev.lightcap.android

import dev.lightcap.Engine
import dev.lightcap.LightCapException
import java.io.File
import java.io.InputStream

/**
 * Copies a model pack from read-only storage (APK assets) to a folder the engine can
 * read, once, and opens it. Plain JVM code: [ModelPacks] supplies Android's assets.
 *
 * The copy is skipped when [target] already holds a pack whose manifest is byte-for-byte
 * the source's. Every file's size and sha256 are then checked by [Engine.fromPath]; if
 * that finds a damaged copy (storage errors, an interrupted update), the pack is copied
 * again once. Copies go to a sibling folder first and replace [target] in one rename, so
 * a crash mid-copy never leaves a half pack behind.
 */
class PackInstaller(
    private val fileNames: () -> List<String>,
    private val openFile: (String) -> InputStream,
    private val target: File,
) {
    /** Installs when needed, then loads; throws [LightCapException] if even a fresh copy is bad. */
    fun openEngine(): Engine {
        val fresh = install(force = false)
        return try {
            Engine.fromPath(target.path)
        } catch (e: LightCapException) {
            val repairable = e is LightCapException.ChecksumMismatch || e is LightCapException.Io ||
                e is LightCapException.InvalidPack
            if (fresh || !repairable) throw e
            install(force = true)
            Engine.fromPath(target.path)
        }
    }

    /** Copies the pack unless [target] already has this one; true when it copied. */
    fun install(force: Boolean = false): Boolean {
        val manifest = openFile(MANIFEST).use { it.readBytes() }
        val installed = File(target, MANIFEST)
        if (!force && installed.isFile && installed.readBytes().contentEquals(manifest)) return false

        val staging = File(target.parentFile, "${target.name}.installing")
        staging.deleteRecursively()
        check(staging.mkdirs()) { "cannot create $staging" }
        for (name in fileNames()) {
            require('/' !in name && name != "." && name != "..") { "unexpected pack file name $name" }
            openFile(name).use { input -> File(staging, name).outputStream().use { input.copyTo(it) } }
        }
        check(File(staging, MANIFEST).isFile) { "the pack has no $MANIFEST" }
        target.deleteRecursively()
        check(staging.renameTo(target)) { "cannot move $staging to $target" }
        return true
    }

    companion object {
        const val MANIFEST = "manifest.json"
    }
}
