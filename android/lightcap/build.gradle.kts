// The LightCap AAR: uniffi's Kotlin API and liblightcap_ffi.so for arm64-v8a and x86_64
// (both put in build/ by android/scripts/build-aar.sh, which also runs the publishing), the
// Kotlin wrapper shared with the JVM tests (bindings/kotlin) and the Android helpers in
// src/main/kotlin.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
    `maven-publish`
}

android {
    namespace = "dev.lightcap"
    compileSdk = libs.versions.compileSdk.get().toInt()
    ndkVersion = libs.versions.ndk.get()

    defaultConfig {
        minSdk = libs.versions.minSdk.get().toInt()
        consumerProguardFiles("consumer-rules.pro")
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }

    sourceSets["main"].apply {
        kotlin.srcDirs(
            "src/main/kotlin",
            "../../bindings/kotlin/src/main/kotlin",
            // Written by android/scripts/build-aar.sh (uniffi, Android flavour).
            layout.buildDirectory.dir("generated/uniffi/kotlin"),
        )
        jniLibs.srcDirs(layout.buildDirectory.dir("jniLibs"))
    }
    // The photo helpers' device tests decode the core's format fixtures (HEIC included).
    sourceSets["androidTest"].assets.srcDir("../../tests/images/formats")

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // uniffi's Kotlin calls the Rust library through JNA; the AAR flavour carries
    // JNA's own native dispatch library for every ABI.
    implementation(libs.jna) { artifact { type = "aar" } }
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.annotation)
    // Only for ImageProxy.toImageSource(): apps that call it have CameraX already.
    compileOnly(libs.androidx.camera.core)
    testImplementation(libs.junit)
    testImplementation(libs.kotlin.test)
    androidTestImplementation(libs.kotlin.test)
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.ext.junit)
}

publishing {
    // android/scripts/build-aar.sh publishes here; apps add it as a `maven { url = ... }` repository.
    repositories {
        maven {
            name = "build"
            url = uri(rootProject.layout.buildDirectory.dir("maven"))
        }
    }
    publications {
        register<MavenPublication>("release") {
            groupId = "dev.lightcap"
            artifactId = "lightcap"
            version = "0.1.0" // the Cargo workspace's version (android/scripts/check_gradle.py)
            afterEvaluate { from(components["release"]) }
        }
    }
}
