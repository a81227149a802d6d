package dev.lightcap.sample

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Bundle
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.core.content.ContextCompat

class MainActivity : ComponentActivity() {
    private val viewModel: CaptionViewModel by viewModels()
    private var cameraPermission by mutableStateOf(CameraPermission.Unknown)

    private val requestCamera =
        registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            cameraPermission = if (granted) CameraPermission.Granted else CameraPermission.Denied
        }

    private val pickPhoto =
        registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
            if (uri != null) viewModel.captionPhoto(uri)
        }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        cameraPermission =
            if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
                CameraPermission.Granted
            } else {
                CameraPermission.Unknown
            }
        if (cameraPermission != CameraPermission.Granted && savedInstanceState == null) {
            requestCamera.launch(Manifest.permission.CAMERA)
        }
        setContent {
            SampleScreen(
                viewModel = viewModel,
                cameraPermission = cameraPermission,
                onAskForCamera = { requestCamera.launch(Manifest.permission.CAMERA) },
                onOpenSettings = {
                    startActivity(Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)))
                },
                onPickPhoto = {
                    pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
                },
            )
        }
    }
}

enum class CameraPermission { Unknown, Granted, Denied }
