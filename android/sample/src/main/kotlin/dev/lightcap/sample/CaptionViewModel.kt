package dev.lightcap.sample

import android.app.Application
import android.net.Uri
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.SavedStateHandle
import androidx.lifecycle.viewModelScope
import dev.lightcap.Caption
import dev.lightcap.CaptionUpdate
import dev.lightcap.Certainty
import dev.lightcap.Engine
import dev.lightcap.ImageSource
import dev.lightcap.LightCapException
import dev.lightcap.android.ModelPacks
import dev.lightcap.android.Photos
import dev.lightcap.captionUpdates
import dev.lightcap.certainty
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** What the screen shows. */
data class CaptionUiState(
    val engine: EngineState = EngineState.Loading,
    val caption: Caption? = null,
    /** How sure [caption] is: decides between its sentence, a hedge and a refusal. */
    val certainty: Certainty = Certainty.SURE,
    val partial: String? = null,
    val busy: Boolean = false,
    val error: String? = null,
)

sealed interface EngineState {
    data object Loading : EngineState
    data object Ready : EngineState
    data class Failed(val message: String) : EngineState
}

/**
 * Holds the engine for as long as the activity's task lives: a rotation keeps this
 * ViewModel and so the loaded model; only a new process loads it again. Closes the engine
 * when the ViewModel is cleared. The continuous-mode switch survives process death in the
 * SavedStateHandle.
 */
class CaptionViewModel(application: Application, private val saved: SavedStateHandle) : AndroidViewModel(application) {
    private val _state = MutableStateFlow(CaptionUiState())
    val state: StateFlow<CaptionUiState> = _state.asStateFlow()
    val continuous: StateFlow<Boolean> = saved.getStateFlow(CONTINUOUS, false)

    private var engine: Engine? = null
    private val busy = AtomicBoolean(false)
    private var captioning: Job? = null

    init {
        viewModelScope.launch {
            try {
                engine = ModelPacks.openFromAssets(application)
                _state.update { it.copy(engine = EngineState.Ready) }
            } catch (e: LightCapException) {
                _state.update { it.copy(engine = EngineState.Failed(e.message ?: e.toString())) }
            }
        }
    }

    fun setContinuous(on: Boolean) {
        saved[CONTINUOUS] = on
    }

    /**
     * Called from the camera's analysis thread with each frame it is willing to give up.
     * Returns false while a caption runs: the caller then drops the frame, so frames are
     * never queued behind a slow caption.
     */
    fun offerFrame(frame: () -> ImageSource): Boolean {
        if (engine == null || !busy.compareAndSet(false, true)) return false
        val image = frame()
        captioning = viewModelScope.launch { caption { image } }
        return true
    }

    /**
     * A photo from the picker. Android decodes it (HEIC too) straight to a small size with
     * its EXIF rotation ([Photos.fromUri]); a Uri that cannot be read or a broken file
     * shows as the typed error's message.
     */
    fun captionPhoto(uri: Uri) {
        if (engine == null || !busy.compareAndSet(false, true)) return
        captioning = viewModelScope.launch { caption { Photos.fromUri(getApplication(), uri) } }
    }

    /** Captions what [decode] gives; its typed errors (a photo that cannot be read) show like the engine's. */
    private suspend fun caption(decode: suspend () -> ImageSource) {
        val engine = engine ?: return
        _state.update { it.copy(busy = true, error = null) }
        try {
            val image = decode()
            engine.captionUpdates(image).collect { update ->
                when (update) {
                    is CaptionUpdate.Partial -> _state.update { it.copy(partial = update.text) }
                    is CaptionUpdate.Done -> {
                        val certainty = update.caption.certainty(engine.modelInfo())
                        _state.update { it.copy(partial = null, caption = update.caption, certainty = certainty) }
                    }
                }
            }
        } catch (e: CancellationException) {
            throw e
        } catch (e: LightCapException) {
            _state.update { it.copy(partial = null, error = e.message) }
        } finally {
            _state.update { it.copy(busy = false) }
            busy.set(false)
        }
    }

    override fun onCleared() {
        captioning?.cancel()
        engine?.close()
        engine = null
    }

    private companion object {
        const val CONTINUOUS = "continuous"
    }
}
