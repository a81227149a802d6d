"""Consistency checks of the iOS package and sample that need no Mac: the names and paths
that Package.swift, the XCFramework layout, the module map, the generated Swift, the
XcodeGen spec, Info.plist and the Swift sources use must agree. Run by ios/scripts/check.sh
after `build-xcframework.sh --check` has staged the framework."""

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

for problem in problems:
    print(f"ios: {problem}", file=sys.stderr)
print(f"ios package checks: {'failed' if problems else 'all consistent'}")
sys.exit(1 if problems else 0)
