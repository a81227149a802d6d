"""Checks the generated Swift bindings against the compiled library, as far as a
machine without Swift can: writes a C program that includes the generated header
through its module map's name, calls the library's contract-version and API-checksum
functions and compares them with the values the generated Swift expects (the check
Swift runs at start-up), then makes one real call and frees its buffer. The program is
compiled with clang against the header and linked against the library.

    python3 scripts/check-swift-ffi.py SWIFT_DIR LIBRARY_DIR
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

swift_dir, library_dir = Path(sys.argv[1]), Path(sys.argv[2])
swift = (swift_dir / "LightCap.swift").read_text()
modulemap = (swift_dir / "LightCapFFI.modulemap").read_text()

# The module map must name the module the Swift file imports and a header that exists.
module = re.search(r"module\s+(\w+)\s*\{", modulemap).group(1)
header = re.search(r'header\s+"([^"]+)"', modulemap).group(1)
assert f"import {module}" in swift, f"LightCap.swift does not import {module}"
assert (swift_dir / header).is_file(), f"the module map names {header}, which is missing"

contract = int(re.search(r"let bindings_contract_version = (\d+)", swift).group(1))
checksums = re.findall(r"if \((uniffi_\w+_checksum_\w+)\(\) != (\d+)\)", swift)
assert checksums, "no API checksums found in LightCap.swift"

checks = "\n".join(
    f'    if ({name}() != {value}) {{ printf("checksum mismatch: {name}\\n"); failures++; }}'
    for name, value in checksums
)
program = f"""
#include <stdio.h>
#include "{header}"

int main(void) {{
    int failures = 0;
    if (ffi_lightcap_ffi_uniffi_contract_version() != {contract}) {{
        printf("contract version mismatch\\n");
        failures++;
    }}
{checks}
    RustCallStatus status = {{0}};
    RustBuffer options = uniffi_lightcap_ffi_fn_func_default_caption_options(&status);
    if (status.code != 0 || options.len == 0) {{
        printf("default_caption_options failed (status %d)\\n", status.code);
        failures++;
    }}
    ffi_lightcap_ffi_rustbuffer_free(options, &status);
    printf("%d API checksums and the contract version compared, %d failures\\n", {len(checksums)}, failures);
    return failures != 0;
}}
"""

with tempfile.TemporaryDirectory() as tmp:
    source, binary = Path(tmp) / "check.c", Path(tmp) / "check"
    source.write_text(program)
    subprocess.run(
        ["clang", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(swift_dir), str(source),
         "-L", str(library_dir), "-llightcap_ffi", f"-Wl,-rpath,{library_dir.resolve()}", "-o", str(binary)],
        check=True,
    )
    sys.exit(subprocess.run([str(binary)]).returncode)
