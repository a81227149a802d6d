#!/usr/bin/env bash
# Builds the LightCap AAR and publishes it, with its POM and sources jar, to a Maven
# repository folder an app can depend on:
#
#   android/scripts/build-aar.sh            the AAR in android/build/maven (needs the tools below)
#   android/scripts/build-aar.sh --check    everything up to Gradle, on any machine (CI runs it)
#
# Steps: (1) the uniffi Kotlin API, Android flavour, into android/lightcap/build/generated;
# (2) liblightcap_ffi.so for arm64-v8a and x86_64 through scripts/build-mobile.sh, the one
# native build of both platforms (release profile, no ONNX front end: phones load packs'
# pre-optimised graphs), into android/lightcap/build/jniLibs; (3) Gradle publishes
# `dev.lightcap:lightcap:VERSION` to android/build/maven.
#
# Needs for a full build: ANDROID_NDK_HOME (the NDK named `ndk` in gradle/libs.versions.toml:
# its clang links the .so), ANDROID_HOME (the SDK, for Gradle's Android plugin) and either
# android/gradlew or a `gradle` on PATH (the wrapper jar is not committed; this script
# makes the wrapper once with it). With --check, the static libraries are built instead of
# the .so (no NDK linker here), unoptimised, and nothing runs Gradle.
set -euo pipefail
cd "$(dirname "$0")/../.."
module=android/lightcap
gradle_version=8.11.1
check=false
[[ "${1:-}" == "--check" ]] && check=true

if ! $check; then
    : "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK named in android/gradle/libs.versions.toml (or run with --check)}"
    : "${ANDROID_HOME:?set ANDROID_HOME to the Android SDK (or run with --check)}"
fi

echo "== uniffi Kotlin (Android flavour) -> $module/build/generated/uniffi/kotlin"
scripts/generate-bindings.sh build/bindings >/dev/null
rm -rf "$module/build/generated/uniffi/kotlin"
mkdir -p "$module/build/generated/uniffi"
cp -R build/bindings/kotlin-android "$module/build/generated/uniffi/kotlin"

declare -A abi_of=([aarch64-linux-android]=arm64-v8a [x86_64-linux-android]=x86_64)
if $check; then
    # arm64: built (static) and its exports checked; x86_64: type-checked and its kernels assembled.
    scripts/build-mobile.sh --profile mobile-check aarch64-linux-android
    scripts/build-mobile.sh --profile mobile-check --check x86_64-linux-android
    echo "checked up to Gradle: linking the .so needs the NDK, the AAR needs the Android SDK and Gradle"
    exit 0
fi

rustup target add aarch64-linux-android x86_64-linux-android
scripts/build-mobile.sh aarch64-linux-android x86_64-linux-android
rm -rf "$module/build/jniLibs"
for target in "${!abi_of[@]}"; do
    mkdir -p "$module/build/jniLibs/${abi_of[$target]}"
    cp "build/mobile/$target/liblightcap_ffi.so" "$module/build/jniLibs/${abi_of[$target]}/"
done

cd android
if [[ ! -f gradle/wrapper/gradle-wrapper.jar ]]; then
    command -v gradle >/dev/null || { echo "no android/gradlew and no gradle on PATH: install Gradle $gradle_version" >&2; exit 1; }
    gradle wrapper --gradle-version "$gradle_version"
fi
./gradlew --quiet :lightcap:publishReleasePublicationToBuildRepository
version=$(sed -n 's/^ *version = "\(.*\)"/\1/p' lightcap/build.gradle.kts)
ls -l "build/maven/dev/lightcap/lightcap/$version"
cat <<LINES
Published dev.lightcap:lightcap:$version to $PWD/build/maven. In the app's settings.gradle.kts:
    dependencyResolutionManagement { repositories { google(); mavenCentral(); maven { url = uri("$PWD/build/maven") } } }
and in its build.gradle.kts:
    dependencies { implementation("dev.lightcap:lightcap:$version") }
LINES
