"""Writes tests/images/formats: one small picture in every encoding a phone's camera or
gallery may hand over, plus files that only pretend to be images. core/tests/formats.rs
checks that each decodes to the same picture (or fails with the right error).

    python -m lightcap.format_fixtures --out tests/images/formats

Every variant shows `reference.png` (an asymmetric scene, so a wrong rotation or flip
shows), stored so that a correct decoder reproduces it: the EXIF files hold the picture
turned the other way and a tag that turns it back.

The HEIC pair (what iPhones and many Android phones save; the core leaves it to the
platform's decoder) is encoded by libheif's `heif-enc` (Debian `libheif-examples`); without
it the committed files are kept. The Android and iOS photo helpers' tests read them too.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from .test_images import scene

# EXIF orientation -> the transpose that undoes it when applied to the upright picture
# (PIL's exif_transpose applies the inverse when reading).
STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def interlaced_png(rgb: np.ndarray) -> bytes:
    """An Adam7-interlaced 8-bit RGB PNG (Pillow only writes non-interlaced ones)."""
    height, width, _ = rgb.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\x00" + row.tobytes()  # filter type 0 (none)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(bytes(raw)))
            + png_chunk(b"IEND", b""))


def write_fixtures(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    reference = scene(96, 64, seed=7)
    written = []

    def save(name: str, image: Image.Image, **options) -> None:
        image.save(out / name, **options)
        written.append(out / name)

    def write(name: str, data: bytes) -> None:
        (out / name).write_bytes(data)
        written.append(out / name)

    save("reference.png", reference)
    # JPEG: baseline, progressive, CMYK (Adobe), grayscale, and the eight EXIF orientations.
    save("jpeg_baseline.jpg", reference, quality=95)
    save("jpeg_progressive.jpg", reference, quality=95, progressive=True)
    save("jpeg_cmyk.jpg", reference.convert("CMYK"), quality=95)
    save("jpeg_gray.jpg", reference.convert("L"), quality=95)
    for orientation, transpose in STORE_FOR_ORIENTATION.items():
        stored = reference if transpose is None else reference.transpose(transpose)
        exif = Image.Exif()
        exif[0x0112] = orientation
        save(f"jpeg_exif_{orientation}.jpg", stored, quality=95, exif=exif.tobytes())
    # Photos large enough to be decoded at reduced scale (lightcap's `jpeg` module): 1/4,
    # and 1/2 in gray and turned by EXIF (orientation 6: stored rotated, tagged back).
    large = reference.resize((1800, 1200), Image.Resampling.BICUBIC)
    save("jpeg_large.jpg", large, quality=90)
    medium = reference.resize((900, 600), Image.Resampling.BICUBIC)
    save("jpeg_large_gray.jpg", medium.convert("L"), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("jpeg_large_exif_6.jpg", medium.transpose(STORE_FOR_ORIENTATION[6]), quality=90, exif=exif.tobytes())
    # PNG: gray, 16-bit gray, palette, alpha (composited over white), Adam7-interlaced.
    save("png_gray.png", reference.convert("L"))
    gray16 = (np.asarray(reference.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    save("png_gray16.png", Image.fromarray(gray16))  # uint16: mode I;16
    save("png_palette.png", reference.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    rgba = reference.convert("RGBA")
    rgba.putalpha(255)
    save("png_alpha_opaque.png", rgba)
    write("png_interlaced.png", interlaced_png(np.asarray(reference)))
    # Other containers.
    save("webp_lossy.webp", reference, quality=95)
    save("webp_lossless.webp", reference, lossless=True)
    save("gif_interlaced.gif", reference.convert("P", palette=Image.Palette.ADAPTIVE, colors=128), interlace=True)
    second = reference.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    save("gif_animated.gif", reference.convert("P", palette=Image.Palette.ADAPTIVE, colors=128), save_all=True,
         append_images=[second.convert("P", palette=Image.Palette.ADAPTIVE, colors=128)], duration=100)
    save("bmp_rgb.bmp", reference)
    save("tiff_rgb.tiff", reference)
    # Sizes at the edges.
    save("tiny_1x1.png", Image.new("RGB", (1, 1), (200, 30, 30)))
    save("strip_2000x1.png", Image.new("RGB", (2000, 1), (30, 200, 30)))
    save("strip_1x2000.png", Image.new("RGB", (1, 2000), (30, 30, 200)))
    # Not what they claim to be.
    (out / "png_named.jpg").write_bytes((out / "reference.png").read_bytes())
    written.append(out / "png_named.jpg")
    write("text_named.png", b"this is a text file, not a picture\n")
    write("jpeg_truncated.jpg", (out / "jpeg_baseline.jpg").read_bytes()[:700])
    write("png_truncated.png", (out / "reference.png").read_bytes()[:100])
    if shutil.which("heif-enc"):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "reference.png"
            reference.save(source)
            subprocess.run(["heif-enc", "--quality", "90", str(source), "-o", str(out / "heic_photo.heic")],
                           check=True, capture_output=True)
        written.append(out / "heic_photo.heic")
        # Cut inside the coded image: the container's boxes are there, the pixels are not.
        heic = (out / "heic_photo.heic").read_bytes()
        write("heic_truncated.heic", heic[: len(heic) * 2 // 3])
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    for path in write_fixtures(args.out):
        print(path.name, path.stat().st_size)


if __name__ == "__main__":
    main()
