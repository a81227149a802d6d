#!/usr/bin/env bash
# Everything about the Android side this machine can check without the Android SDK, NDK
# or Gradle (run by scripts/test-all.sh):
#  - the library module's Kotlin (Android-flavoured generated bindings, the shared
#    wrapper, src/main, the device tests) type-checks with kotlinc against compile-only stubs of the few
#    Android APIs it touches (android/scripts/stubs), and its JVM tests run against the
#    host library and the bundled pack;
#  - every Kotlin and Gradle Kotlin-script file of the library and the sample parses;
#  - the Gradle files agree with the version catalog and with the rest of the repo.
#  - android/scripts/build-aar.sh --check: the AAR's build up to Gradle. The Rust library
#    builds for aarch64-linux-android (a static library: no NDK here) and exports every
#    function of the header; for x86_64-linux-android (the emulator ABI) it is type-checked
#    and its kernels assembled, without a second full build.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/android-check
source scripts/kotlin-jvm.sh
rm -rf "$out" && mkdir -p "$out"

echo "== The AAR's build up to Gradle: bindings staged, Rust library for aarch64-linux-android, checked for x86_64"
android/scripts/build-aar.sh --check

echo "== Android library module (and its device tests): kotlinc with stubs, then its JVM tests"
kotlin_compile "$out/lightcap.jar" build/bindings/kotlin-android bindings/kotlin/src/main/kotlin \
    android/lightcap/src/main/kotlin android/lightcap/src/test/kotlin android/lightcap/src/androidTest/kotlin \
    android/scripts/stubs
junit_run "$out/lightcap.jar" -Dlightcap.pack="$PWD/tests/packs/tiny" -Dlightcap.images="$PWD/tests/images" \
    dev.lightcap.android.PackInstallerTest dev.lightcap.android.PhotoInputTest

echo "== Android sources parse; Gradle files agree"
# (The stubs are compiled above, and use `fun interface`, which the grammar predates.)
find android -path android/scripts/stubs -prune -o \( -name '*.kt' -o -name '*.kts' \) -print | sort |
    xargs node scripts/check-syntax.js
python3 android/scripts/check_gradle.py
