"""The reference preprocessing decodes large JPEGs at reduced scale by the rule the Rust
core follows (core/src/jpeg.rs), and it is still the same picture."""

from pathlib import Path

import numpy as np
import pytest

from lightcap.preprocess import load_rgba, preprocess_file

FORMATS = Path(__file__).resolve().parents[2] / "tests" / "images" / "formats"


@pytest.mark.parametrize("name,full,reduced", [
    ("jpeg_large.jpg", (1200, 1800), (300, 450)),  # 1/4
    ("jpeg_large_gray.jpg", (600, 900), (300, 450)),  # 1/2
    ("jpeg_large_exif_6.jpg", (600, 900), (300, 450)),  # 1/2, turned upright after decoding
    ("jpeg_cmyk.jpg", (64, 96), (64, 96)),  # too small, and CMYK: never reduced
])
def test_large_jpegs_are_decoded_at_the_reduction_the_rust_core_uses(name, full, reduced):
    assert load_rgba(FORMATS / name).shape[:2] == full
    assert load_rgba(FORMATS / name, 224).shape[:2] == reduced


@pytest.mark.parametrize("name,reference", [("jpeg_large.jpg", "reference.png"),
                                            ("jpeg_large_exif_6.jpg", "reference.png"),
                                            ("jpeg_large_gray.jpg", "png_gray.png")])
def test_a_reduced_decode_is_the_same_picture(name, reference):
    diff = np.abs(preprocess_file(FORMATS / name, 224) - preprocess_file(FORMATS / reference, 224)).mean()
    assert diff < 0.03, f"{name}: {diff}"
