"""Checks the Android Gradle build for consistency without Gradle: every catalog entry a
build file uses exists and every catalog entry is used; versions are pinned; the Kotlin
version equals the kotlinc the library is checked with here; the NDK and SDK levels
agree with the build scripts; the source and asset folders the build files name exist or
are produced by a script; the manifests ask for what the code uses."""

import json
import re
import sys
import tomllib
from pathlib import Path

android = Path(__file__).resolve().parents[1]
root = android.parent
problems: list[str] = []


def check(condition: bool, problem: str) -> None:
    if not condition:
        problems.append(problem)


catalog = tomllib.loads((android / "gradle/libs.versions.toml").read_text())
versions, libraries, plugins = catalog["versions"], catalog["libraries"], catalog["plugins"]
for name, version in versions.items():
    check(re.fullmatch(r"[0-9][0-9A-Za-z.\-]*", version) is not None and "+" not in version,
          f"version {name} = {version!r} is not pinned")
for name, entry in {**libraries, **plugins}.items():
    ref = entry.get("version", {}).get("ref") if isinstance(entry.get("version"), dict) else None
    check(ref is None or ref in versions, f"{name} refers to the missing version {ref}")

build_files = sorted(android.glob("**/*.gradle.kts"))
used = set()
for path in build_files:
    text = re.sub(r"//.*", "", path.read_text())  # comments may mention libs.versions.toml
    for accessor in re.findall(r"(?<![\w./-])libs\.([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)", text):
        if accessor.startswith("versions."):
            name = accessor.removeprefix("versions.").removesuffix(".get").replace(".", "-")
            check(name in versions, f"{path.relative_to(root)} uses libs.{accessor}, not in the catalog")
            used.add(("versions", name))
        elif accessor.startswith("plugins."):
            name = accessor.removeprefix("plugins.").replace(".", "-")
            check(name in plugins, f"{path.relative_to(root)} uses libs.{accessor}, not in the catalog")
            used.add(("plugins", name))
        else:
            name = accessor.removesuffix(".get").replace(".", "-")
            check(name in libraries, f"{path.relative_to(root)} uses libs.{accessor}, not in the catalog")
            used.add(("libraries", name))
used_versions = {n for kind, n in used if kind == "versions"}
for kind, name in used:
    entry = {"libraries": libraries, "plugins": plugins}.get(kind, {}).get(name, {})
    if isinstance(entry.get("version"), dict):
        used_versions.add(entry["version"]["ref"])
for name in libraries:
    check(("libraries", name) in used, f"catalog library {name} is unused")
for name in plugins:
    check(("plugins", name) in used, f"catalog plugin {name} is unused")
for name in versions:
    check(name in used_versions, f"catalog version {name} is unused")

toolchain = json.loads((root / "scripts/toolchain/package.json").read_text())
check(versions["kotlin"] == toolchain["dependencies"]["kotlin-compiler"],
      f"Kotlin {versions['kotlin']} in the catalog, kotlinc {toolchain['dependencies']['kotlin-compiler']} in scripts/toolchain")
aar_script = (android / "scripts/build-aar.sh").read_text()
check("scripts/build-mobile.sh" in aar_script and "cargo" not in aar_script.replace("cargo-ndk", ""),
      "build-aar.sh must build the native library through scripts/build-mobile.sh only")
mobile = (root / "scripts/build-mobile.sh").read_text()
check(f"android_api={versions['minSdk']}" in mobile, f"build-mobile.sh must build for API {versions['minSdk']} (minSdk)")
check(int(versions["targetSdk"]) <= int(versions["compileSdk"]), "targetSdk is above compileSdk")

settings = (android / "settings.gradle.kts").read_text()
for module in re.findall(r'":(\w+)"', settings):
    check((android / module / "build.gradle.kts").is_file(), f"settings includes :{module}, which has no build file")
    check((android / module / "src/main/AndroidManifest.xml").is_file(), f":{module} has no AndroidManifest.xml")

library = (android / "lightcap/build.gradle.kts").read_text()
for folder in re.findall(r'"(\.\./\.\./[^"]+)"', library):
    check((android / "lightcap" / folder).resolve().is_dir(), f"lightcap names {folder}, which does not exist")
check("generated/uniffi/kotlin" in library and "lightcap/build/generated/uniffi/kotlin" in aar_script.replace("$module", "android/lightcap"),
      "the generated Kotlin folder of lightcap/build.gradle.kts is not what build-aar.sh writes")
check('jniLibs.srcDirs(layout.buildDirectory.dir("jniLibs"))' in library and '"$module/build/jniLibs' in aar_script,
      "the AAR's jniLibs folder is not where build-aar.sh puts the .so files")
workspace_version = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["package"]["version"]
published = re.search(r'version = "([^"]+)"', library)
check(published is not None and published.group(1) == workspace_version,
      f"the AAR's version is not the Cargo workspace's {workspace_version}")
check('name = "build"' in library and ":lightcap:publishReleasePublicationToBuildRepository" in aar_script,
      "build-aar.sh must publish to the `build` repository lightcap/build.gradle.kts declares")
check('consumerProguardFiles("consumer-rules.pro")' in library and (android / "lightcap/consumer-rules.pro").is_file(),
      "the AAR's consumer ProGuard rules are missing")

# The get-started page's Gradle lines are what the build publishes (no Gradle here to try them).
guide = (root / "docs/android.md").read_text()
coordinates = re.findall(r'implementation\("(dev\.lightcap:[\w-]+:[^"]+)"\)', guide)
check(coordinates == [f"dev.lightcap:lightcap:{workspace_version}"],
      f"docs/android.md's dependency line {coordinates} is not dev.lightcap:lightcap:{workspace_version}")
check(re.search(r'maven \{ url = uri\("[^"]*/android/build/maven"\) \}', guide) is not None
      and 'rootProject.layout.buildDirectory.dir("maven")' in library,
      "docs/android.md's repository line is not the folder build-aar.sh publishes to")
if 'noCompress += "tar"' in guide:
    check('noCompress += "tar"' in (android / "sample/build.gradle.kts").read_text(),
          "docs/android.md keeps the graphs uncompressed, the sample does not")

sample = (android / "sample/build.gradle.kts").read_text()
check('rootProject.file("../models/default")' in sample and (root / "models/default/manifest.json").is_file(),
      "the sample's model pack source is missing")
pack_asset = re.search(r'generated/packs/([\w-]+)"', sample).group(1)
sources = "".join(p.read_text() for p in android.glob("**/src/main/kotlin/**/*.kt"))
check(f'assetDir: String = "{pack_asset}"' in sources, f"ModelPacks does not default to the asset folder {pack_asset}")
manifest = (android / "sample/src/main/AndroidManifest.xml").read_text()
check("android.permission.CAMERA" in manifest, "the sample's manifest lacks the CAMERA permission")
strings = set(re.findall(r'<string name="(\w+)"', (android / "sample/src/main/res/values/strings.xml").read_text()))
for name in set(re.findall(r"R\.string\.(\w+)", sources)):
    check(name in strings, f"R.string.{name} is used but not defined")

for problem in problems:
    print(f"android: {problem}", file=sys.stderr)
print(f"android gradle checks: {'failed' if problems else 'all consistent'} ({len(build_files)} build files)")
sys.exit(1 if problems else 0)
