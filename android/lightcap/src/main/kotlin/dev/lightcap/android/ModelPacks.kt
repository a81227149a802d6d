package dev.lightcap.android

import android.content.Context
import dev.lightcap.Engine
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/** Loading model packs the way apps ship them. */
object ModelPacks {
    /**
     * Opens the pack in the app's assets folder [assetDir] (e.g. `src/main/assets/lightcap-default/`),
     * copying it to no-backup app storage the first time and after an app update changes it;
     * runs on [Dispatchers.IO]. Keep the engine for as long as the app captions (a ViewModel
     * or the Application), and close it when done.
     */
    suspend fun openFromAssets(context: Context, assetDir: String = "lightcap-default"): Engine =
        withContext(Dispatchers.IO) {
            val assets = context.applicationContext.assets
            PackInstaller(
                fileNames = { assets.list(assetDir).orEmpty().toList() },
                openFile = { name -> assets.open("$assetDir/$name") },
                target = File(context.noBackupFilesDir, "lightcap/$assetDir"),
            ).openEngine()
        }

    /** Opens a pack folder the app already has on disk (downloaded, or pushed for testing). */
    suspend fun openFromPath(path: String): Engine = Engine.load(path)
}
