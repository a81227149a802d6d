package dev.lightcap.sample

import androidx.camera.core.CameraSelector
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.clearAndSetSemantics
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import dev.lightcap.Certainty
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import java.util.concurrent.Executors
import kotlin.math.roundToInt

@Composable
fun SampleScreen(
    viewModel: CaptionViewModel,
    cameraPermission: CameraPermission,
    onAskForCamera: () -> Unit,
    onOpenSettings: () -> Unit,
    onPickPhoto: () -> Unit,
) {
    val state by viewModel.state.collectAsStateWithLifecycle()
    val continuous by viewModel.continuous.collectAsStateWithLifecycle()
    val frames = remember(viewModel) { CameraFrames(viewModel) { viewModel.continuous.value } }

    MaterialTheme {
        Box(Modifier.fillMaxSize()) {
            when (cameraPermission) {
                CameraPermission.Granted -> CameraPreview(frames, Modifier.fillMaxSize().clickable { frames.captureNext() })
                else -> PermissionMessage(cameraPermission, onAskForCamera, onOpenSettings)
            }
            Surface(Modifier.align(Alignment.BottomCenter).fillMaxWidth(), tonalElevation = 4.dp) {
                Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
                    when (val engine = state.engine) {
                        EngineState.Loading -> Text(stringResource(R.string.loading_model))
                        is EngineState.Failed -> Text(stringResource(R.string.model_failed, engine.message))
                        EngineState.Ready -> {
                            CaptionText(state)
                            Controls(
                                busy = state.busy,
                                cameraReady = cameraPermission == CameraPermission.Granted,
                                continuous = continuous,
                                onDescribe = frames::captureNext,
                                onContinuous = viewModel::setContinuous,
                                onPickPhoto = onPickPhoto,
                            )
                        }
                    }
                    state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                }
            }
        }
    }
}

@Composable
private fun CaptionText(state: CaptionUiState) {
    val caption = state.caption
    // An unsure caption is hedged, a very unsure one withheld (Caption.certainty), on
    // screen and for TalkBack alike.
    val finished =
        when {
            caption == null -> stringResource(R.string.tap_to_describe)
            state.certainty == Certainty.SURE -> caption.sentence
            state.certainty == Certainty.UNSURE -> stringResource(R.string.may_show, caption.text)
            else -> stringResource(R.string.cannot_describe)
        }
    val shown = state.partial ?: finished
    // TalkBack reads the finished sentence when it changes (a polite live region); the
    // partial captions on screen are not announced.
    val spoken = finished
    Text(
        shown,
        style = MaterialTheme.typography.titleMedium,
        modifier = Modifier.semantics {
            liveRegion = LiveRegionMode.Polite
            contentDescription = spoken
        },
    )
    if (caption != null) {
        val concepts = caption.concepts.take(5)
        Text(
            concepts.joinToString("   ") { "${it.name} ${(it.score * 100).roundToInt()}%" },
            style = MaterialTheme.typography.bodySmall,
            modifier = Modifier.clearAndSetSemantics {
                contentDescription = concepts.joinToString(", ") { it.name }
            },
        )
        Text(
            stringResource(R.string.latency, caption.timings.totalMs.roundToInt()),
            style = MaterialTheme.typography.labelSmall,
        )
    }
}

@Composable
private fun Controls(
    busy: Boolean,
    cameraReady: Boolean,
    continuous: Boolean,
    onDescribe: () -> Unit,
    onContinuous: (Boolean) -> Unit,
    onPickPhoto: () -> Unit,
) {
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
        Button(onClick = onDescribe, enabled = cameraReady && !busy) { Text(stringResource(R.string.describe)) }
        FilterChip(
            selected = continuous,
            onClick = { onContinuous(!continuous) },
            enabled = cameraReady,
            label = { Text(stringResource(R.string.continuous)) },
        )
        OutlinedButton(onClick = onPickPhoto) { Text(stringResource(R.string.photo)) }
    }
}

@Composable
private fun PermissionMessage(permission: CameraPermission, onAsk: () -> Unit, onOpenSettings: () -> Unit) {
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.Center,
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text(stringResource(R.string.camera_needed), style = MaterialTheme.typography.titleMedium)
        if (permission == CameraPermission.Denied) {
            Text(stringResource(R.string.camera_denied_hint), style = MaterialTheme.typography.bodyMedium)
            Button(onClick = onOpenSettings) { Text(stringResource(R.string.open_settings)) }
        } else {
            Button(onClick = onAsk) { Text(stringResource(R.string.allow_camera)) }
        }
    }
}

/** CameraX preview plus the analysis use case that feeds [frames], bound to the lifecycle. */
@Composable
private fun CameraPreview(frames: CameraFrames, modifier: Modifier) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val analysisThread = remember { Executors.newSingleThreadExecutor() }
    val previewView = remember { PreviewView(context).apply { importantForAccessibility = PreviewView.IMPORTANT_FOR_ACCESSIBILITY_NO } }

    DisposableEffect(lifecycleOwner) {
        val providerFuture = ProcessCameraProvider.getInstance(context)
        providerFuture.addListener({
            val provider = providerFuture.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            val analysis = CameraFrames.useCase().also { it.setAnalyzer(analysisThread, frames) }
            provider.unbindAll()
            provider.bindToLifecycle(lifecycleOwner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, ContextCompat.getMainExecutor(context))
        onDispose {
            if (providerFuture.isDone) providerFuture.get().unbindAll()
            analysisThread.shutdown()
        }
    }
    AndroidView(factory = { previewView }, modifier = modifier)
}
