// The sample camera app: CameraX preview, captions on tap or continuously, TalkBack.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "dev.lightcap.sample"
    compileSdk = libs.versions.compileSdk.get().toInt()

    defaultConfig {
        applicationId = "dev.lightcap.sample"
        minSdk = libs.versions.minSdk.get().toInt()
        targetSdk = libs.versions.targetSdk.get().toInt()
        versionCode = 1
        versionName = "0.1.0"
    }

    // The bundled model pack ships as assets/lightcap-default/ and is copied to app
    // storage on first start (dev.lightcap.android.ModelPacks).
    sourceSets["main"].assets.srcDir(layout.buildDirectory.dir("generated/packs"))

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
        }
    }

    buildFeatures {
        compose = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // The pack's graphs are already dense: compressing them in the APK only slows the copy.
    androidResources {
        noCompress += "tar"
    }
}

kotlin {
    jvmToolchain(17)
}

val copyModelPack by tasks.registering(Copy::class) {
    // The app's library loads the pre-optimised graphs (*.nnef.tar) and links no ONNX
    // reader (scripts/build-mobile.sh), so the pack's ONNX graphs stay out of the APK.
    from(rootProject.file("../models/default")) {
        exclude("*.onnx")
    }
    into(layout.buildDirectory.dir("generated/packs/lightcap-default"))
}
tasks.named("preBuild") { dependsOn(copyModelPack) }

dependencies {
    implementation(project(":lightcap"))
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.camera.core)
    implementation(libs.androidx.camera.camera2)
    implementation(libs.androidx.camera.lifecycle)
    implementation(libs.androidx.camera.view)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.material3)
}
