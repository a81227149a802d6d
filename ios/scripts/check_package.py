"""Consistency checks of the iOS package and sample that need no Mac: the names and paths
that Package.swift, the XCFramework layout, the module map, the generated Swift, the
XcodeGen spec, Info.plist and the Swift sources use must agree, and every platform
Package.swift declares must get its slices from the full build. Run by ios/scripts/check.sh
after `build-xcframework.sh --check` has staged the framework and the test resources."""

import plistlib
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
ios = root / "ios"
package = ios / "LightCap"
problems: list[str] = []


def check(condition: bool, problem: str) -> None:
    if not condition:
        problems.append(problem)


# Package.swift's platforms and the Rust targets whose slices the XCFramework needs for
# them: an app building for a declared platform with no slice fails to link.
SLICES = {
    "iOS": [("aarch64-apple-ios",), ("aarch64-apple-ios-sim", "x86_64-apple-ios")],
    "macOS": [("aarch64-apple-darwin", "x86_64-apple-darwin")],
    "macCatalyst": [("aarch64-apple-ios-macabi", "x86_64-apple-ios-macabi")],
    "tvOS": [("aarch64-apple-tvos",), ("aarch64-apple-tvos-sim", "x86_64-apple-tvos")],
    "watchOS": [("arm64_32-apple-watchos", "aarch64-apple-watchos"), ("aarch64-apple-watchos-sim",)],
    "visionOS": [("aarch64-apple-visionos",), ("aarch64-apple-visionos-sim",)],
}


def platform_problems(manifest: str, build_script: str) -> list[str]:
    """Platforms Package.swift declares that the full build (not --check) makes no slice for."""
    declared = re.search(r"platforms:\s*\[([^\]]*)\]", manifest)
    if declared is None:
        return ["Package.swift declares no platforms, so SwiftPM assumes all of them, macOS included"]
    built = set()
    for line in build_script.splitlines():
        if line.startswith("scripts/build-mobile.sh") and "--profile mobile-check" not in line:
            built.update(re.findall(r"\b[\w]+-apple-[\w-]+", line))
    found = []
    for platform in re.findall(r"\.(\w+)\(", declared.group(1)):
        if platform not in SLICES:
            found.append(f"Package.swift declares .{platform}, for which this check knows no Rust target")
        for alternatives in SLICES.get(platform, []):
            if not any(target in built for target in alternatives):
                found.append(f"Package.swift declares .{platform}, but build-xcframework.sh builds no "
                             f"{' or '.join(alternatives)} slice")
    # What reaches the XCFramework: its -library arguments, and the inputs of a lipo whose
    # output is one.
    commands = build_script.replace("\\\n", " ").splitlines()
    packaged = {path for line in commands if "-create-xcframework" in line
                for path in re.findall(r"-library\s+(\S+)", line)}
    for line in commands:
        merged = re.search(r"lipo -create (.+) -output (\S+)", line)
        if merged and merged.group(2) in packaged:
            packaged.update(merged.group(1).split())
    for target in sorted(built):
        if f"build/mobile/{target}/liblightcap_ffi.a" not in packaged:
            found.append(f"build-xcframework.sh builds {target} but puts no library of it in the XCFramework")
    return found


manifest = (package / "Package.swift").read_text()
check(manifest.startswith("// swift-tools-version:5.9"), "Package.swift must declare swift-tools-version 5.9")
binary = re.search(r'\.binaryTarget\(name: "(\w+)", path: "([^"]+)"\)', manifest)
check(binary is not None, "Package.swift has no binaryTarget")
ffi_module, framework = binary.groups() if binary else ("", "")
build_script = (ios / "scripts/build-xcframework.sh").read_text()
check(f'-output "$package/{framework}"' in build_script, f"build-xcframework.sh does not write {framework}")
for path in re.findall(r'path: "(Sources/[^"]+|Tests/[^"]+)"', manifest):
    check((package / path).is_dir(), f"Package.swift names {path}, which does not exist")
for resource in re.findall(r'\.copy\("([^"]+)"\)', manifest):
    check(f"Tests/LightCapTests/{resource}" in build_script.replace("$package/", ""),
          f"the test resource {resource} is not put in place by build-xcframework.sh")
    check((package / "Tests/LightCapTests" / resource).exists(),
          f"the test resource {resource} is missing after build-xcframework.sh --check")
problems += platform_problems(manifest, build_script)
ios_version = re.search(r"\.iOS\(\.v(\d+)\)", manifest).group(1)
mobile = (root / "scripts/build-mobile.sh").read_text()
check(f"ios_version={ios_version}.0" in mobile, f"build-mobile.sh must build for iOS {ios_version}.0, as Package.swift")

# The staged XCFramework slice: header, module map naming it, the module the Swift imports.
slice_dir = root / "build/ios/LightCapFFI.xcframework/ios-arm64"
modulemap = (slice_dir / "Headers/module.modulemap").read_text()
module = re.search(r"module\s+(\w+)", modulemap).group(1)
header = re.search(r'header\s+"([^"]+)"', modulemap).group(1)
check(module == ffi_module, f"the module map defines {module}, Package.swift's binary target is {ffi_module}")
check((slice_dir / "Headers" / header).is_file(), f"the module map's header {header} is not in Headers/")
check((slice_dir / "liblightcap_ffi.a").is_file(), "the device static library is not staged")
generated = (package / "Sources/LightCap/Generated/LightCap.swift").read_text()
check(f"import {module}" in generated, f"the generated Swift does not import {module}")

# The sample: XcodeGen spec, Info.plist, the pack name the code loads.
spec = (ios / "Sample/project.yml").read_text()
sample = ios / "Sample"
info_path = re.search(r"INFOPLIST_FILE: (\S+)", spec).group(1)
info = plistlib.loads((sample / info_path).read_bytes())
check(bool(info.get("NSCameraUsageDescription")), "Info.plist lacks NSCameraUsageDescription")
for path in re.findall(r"^\s+(?:- )?path: (\S+)$", spec, re.M):
    check((sample / path).exists(), f"project.yml names {path}, which does not exist")
bundled = re.search(r'pack="\$TARGET_BUILD_DIR/\$UNLOCALIZED_RESOURCES_FOLDER_PATH/([\w-]+)"\n(.*\n){1,2}.*'
                    r'"\$SRCROOT/(\S+)/"', spec)
check(bundled is not None, "project.yml does not bundle a model pack")
pack_name, pack_source = bundled.group(1), bundled.group(3)
check((sample / pack_source / "manifest.json").is_file(), f"project.yml bundles {pack_source}, which is no pack")
sources = "".join(p.read_text() for p in (sample / "LightCapSample").glob("*.swift"))
check(f'packNamed: "{pack_name}"' in sources, f"the sample does not load the pack it bundles ({pack_name})")
check(f'packNamed: "{pack_name}"' in (package / "Tests/LightCapTests/LightCapTests.swift").read_text(),
      "the package tests do not load the pack build-xcframework.sh copies")
# A photo from the library is often HEIC, which the core does not decode: ImageIO must.
check(".photo(data:" in sources and ".encoded(" not in sources,
      "the sample must caption picked photos through ImageSource.photo(data:), not .encoded")

for problem in problems:
    print(f"ios: {problem}", file=sys.stderr)
print(f"ios package checks: {'failed' if problems else 'all consistent'}")
sys.exit(1 if problems else 0)
