//! Every encoding a camera or gallery may hand over decodes to the same picture, and files
//! that only pretend to be images fail with a typed error. The fixtures are written by
//! `python -m lightcap.format_fixtures --out tests/images/formats`.

use std::path::{Path, PathBuf};

use lightcap::{CaptionOptions, Captioner, DEFAULT_MAX_IMAGE_PIXELS, Error, ImageInput};

const SIZE: usize = 224;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/images/formats")
        .join(name)
}

fn pixels(name: &str) -> Result<Vec<f32>, Error> {
    lightcap::preprocess_image(
        ImageInput::File(&fixture(name)),
        SIZE,
        DEFAULT_MAX_IMAGE_PIXELS,
    )
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

/// Colour encodings of `reference.png`, and how far (mean absolute difference of the
/// preprocessed [0, 1] pixels) each may be from it: 0 for lossless ones.
const SAME_PICTURE: &[(&str, f32)] = &[
    ("png_named.jpg", 0.0),
    ("png_interlaced.png", 0.0),
    ("png_alpha_opaque.png", 0.0),
    ("webp_lossless.webp", 0.0),
    ("bmp_rgb.bmp", 0.0),
    ("tiff_rgb.tiff", 0.0),
    ("jpeg_baseline.jpg", 0.02),
    ("jpeg_progressive.jpg", 0.02),
    ("jpeg_cmyk.jpg", 0.03),
    ("webp_lossy.webp", 0.02),
    ("png_palette.png", 0.03),
    ("gif_interlaced.gif", 0.03),
    // The first frame of an animation is captioned.
    ("gif_animated.gif", 0.03),
];

fn assert_same_picture_as(reference: &str, cases: &[(&str, f32)]) {
    let reference = pixels(reference).unwrap();
    for &(name, tolerance) in cases {
        let decoded = pixels(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diff = mean_abs_diff(&decoded, &reference);
        assert!(diff <= tolerance + 1e-6, "{name}: differs by {diff}");
    }
}

#[test]
fn every_colour_encoding_decodes_to_the_reference_picture() {
    assert_same_picture_as("reference.png", SAME_PICTURE);
}

#[test]
fn gray_encodings_decode_to_the_gray_reference() {
    assert_same_picture_as(
        "png_gray.png",
        &[("png_gray16.png", 0.0), ("jpeg_gray.jpg", 0.02)],
    );
}

/// Photos whose shorter side is at least twice the model's input are decoded at 1/2, 1/4
/// or 1/8 scale (the `jpeg` module): still the same picture, turned upright.
#[test]
fn large_jpegs_decoded_at_reduced_scale_are_the_same_picture() {
    assert_same_picture_as(
        "reference.png",
        &[("jpeg_large.jpg", 0.03), ("jpeg_large_exif_6.jpg", 0.03)],
    );
    assert_same_picture_as("png_gray.png", &[("jpeg_large_gray.jpg", 0.03)]);
}

#[test]
fn all_eight_exif_orientations_are_turned_upright() {
    let reference = pixels("reference.png").unwrap();
    for orientation in 1..=8 {
        let name = format!("jpeg_exif_{orientation}.jpg");
        let decoded = pixels(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
        // JPEG noise is about 0.013 here; a wrong turn or flip is over 0.1.
        let diff = mean_abs_diff(&decoded, &reference);
        assert!(diff <= 0.02, "{name}: differs from upright by {diff}");
    }
}

#[test]
fn one_pixel_and_extreme_strips_are_captioned() {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/packs/tiny");
    let captioner = Captioner::from_dir(&pack).unwrap();
    for name in ["tiny_1x1.png", "strip_2000x1.png", "strip_1x2000.png"] {
        let caption = captioner
            .caption(ImageInput::File(&fixture(name)), &CaptionOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!caption.token_ids.is_empty(), "{name}");
    }
}

#[test]
fn files_that_only_pretend_to_be_images_get_typed_errors() {
    assert!(matches!(
        pixels("text_named.png"),
        Err(Error::UnsupportedImageFormat(_))
    ));
    for name in ["jpeg_truncated.jpg", "png_truncated.png"] {
        match pixels(name) {
            Err(Error::ImageDecode { .. }) => {}
            Err(other) => panic!("{name}: expected an ImageDecode error, got {other}"),
            Ok(_) => panic!("{name}: expected an ImageDecode error, but it decoded"),
        }
    }
}

/// The start of an ISO base media file: an `ftyp` box with a major brand and compatible
/// brands, then an empty `meta` box (what a phone's HEIC or AVIF file begins with).
fn iso_media(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len() as u32;
    let mut bytes = size.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"ftyp");
    bytes.extend_from_slice(major);
    bytes.extend_from_slice(&0u32.to_be_bytes());
    for brand in compatible {
        bytes.extend_from_slice(*brand);
    }
    bytes.extend_from_slice(&8u32.to_be_bytes());
    bytes.extend_from_slice(b"meta");
    bytes
}

#[test]
fn heic_and_avif_are_named_and_left_to_the_platform() {
    let captioner =
        Captioner::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/packs/tiny"))
            .unwrap();
    let cases: [(Vec<u8>, &str); 5] = [
        (iso_media(b"heic", &[b"mif1", b"heic"]), "HEIC/HEIF"),
        (iso_media(b"mif1", &[b"heix"]), "HEIC/HEIF"),
        // A truncated HEIC (the box cut after its brands) is still named.
        (iso_media(b"heic", &[b"mif1"])[..16].to_vec(), "HEIC/HEIF"),
        (iso_media(b"avif", &[b"mif1", b"miaf"]), "AVIF"),
        (iso_media(b"isom", &[b"avis"]), "AVIF"),
    ];
    for (bytes, name) in cases {
        match captioner.caption(ImageInput::Encoded(&bytes), &CaptionOptions::default()) {
            Err(Error::UnsupportedImageFormat(message)) => {
                assert!(message.starts_with(name), "{message}");
                assert!(message.contains("decode it with the platform"), "{message}");
            }
            other => panic!("{name}: expected UnsupportedImageFormat, got {other:?}"),
        }
    }
    // Real files as heif-enc writes them: whole, and cut inside the coded image.
    for name in ["heic_photo.heic", "heic_truncated.heic"] {
        match captioner.caption(ImageInput::File(&fixture(name)), &CaptionOptions::default()) {
            Err(Error::UnsupportedImageFormat(message)) => {
                assert!(message.starts_with("HEIC/HEIF"), "{name}: {message}")
            }
            other => panic!("{name}: expected UnsupportedImageFormat, got {other:?}"),
        }
    }
    // An MP4 is an ISO media file too, and no image: the plain unknown-format error.
    match captioner.caption(
        ImageInput::Encoded(&iso_media(b"isom", &[b"mp41"])),
        &CaptionOptions::default(),
    ) {
        Err(Error::UnsupportedImageFormat(message)) => {
            assert!(!message.contains("platform"), "{message}")
        }
        other => panic!("mp4: expected UnsupportedImageFormat, got {other:?}"),
    }
}
