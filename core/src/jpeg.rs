//! JPEG photos decoded at reduced scale.
//!
//! A phone's gallery photo is a 12-megapixel JPEG and the model sees 224 x 224. JPEG
//! lets a decoder produce 1/2, 1/4 or 1/8 of the size directly from the DCT blocks,
//! skipping most of the inverse transform, the full-size pixel buffer (36 MB for 4032 x
//! 3024) and most of the resize. The factor is the largest that keeps the shorter side at
//! least the model's input size: `s = max {8, 4, 2, 1} <= min(w, h) / size` (integer
//! division), the rule Pillow's `draft()` applies, which the Python reference
//! (`scripts/lightcap/preprocess.py`) uses for the same photos.
//!
//! Only 8-bit greyscale and colour (YCbCr or RGB) JPEGs take this path; CMYK and 12-bit
//! files, and those too small to shrink, are decoded at full size as before.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, RgbImage};
use jpeg_decoder::{Decoder, PixelFormat};

use crate::error::{Error, Result};

/// The reduction `s` (the image is decoded at 1/s of its size) for a `width` x `height`
/// photo and a model input of `size`.
pub(crate) fn reduction(width: u32, height: u32, size: usize) -> u32 {
    let room = width.min(height) as usize / size.max(1);
    [8, 4, 2, 1]
        .into_iter()
        .find(|&s| room >= s as usize)
        .unwrap_or(1)
}

/// Decode `bytes` at 1/`s` of its size, `s` > 1 (from [`reduction`]). `Ok(None)`: this
/// file's pixel format is not one this path handles; decode it at full size.
pub(crate) fn decode_reduced(
    bytes: &[u8],
    width: u32,
    height: u32,
    s: u32,
) -> Result<Option<DynamicImage>> {
    let broken = |e: jpeg_decoder::Error| Error::ImageDecode {
        format: "JPEG".into(),
        reason: e.to_string(),
    };
    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(broken)?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    if !matches!(info.pixel_format, PixelFormat::L8 | PixelFormat::RGB24) {
        return Ok(None);
    }
    let wanted = (width.div_ceil(s), height.div_ceil(s));
    let too_large = |_| Error::ImageDecode {
        format: "JPEG".into(),
        reason: format!("{width}x{height} is larger than JPEG allows"),
    };
    let request = (
        u16::try_from(wanted.0).map_err(too_large)?,
        u16::try_from(wanted.1).map_err(too_large)?,
    );
    let (w, h) = decoder.scale(request.0, request.1).map_err(broken)?;
    if (u32::from(w), u32::from(h)) != wanted {
        // The header disagrees with what the caller read: let the full decoder judge it.
        return Ok(None);
    }
    let pixels = decoder.decode().map_err(broken)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let short = || Error::ImageDecode {
        format: "JPEG".into(),
        reason: "the decoder returned fewer pixels than the image has".into(),
    };
    Ok(Some(match info.pixel_format {
        PixelFormat::L8 => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, pixels).ok_or_else(short)?)
        }
        _ => DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(short)?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reduction_keeps_the_short_side_at_least_the_input_size() {
        // (width, height, reduction) for a 224 input, as Pillow's draft() picks them.
        for (w, h, s) in [
            (4032, 3024, 8),
            (3024, 4032, 8),
            (1792, 4000, 8),
            (1791, 4000, 4),
            (896, 896, 4),
            (895, 2000, 2),
            (448, 448, 2),
            (447, 447, 1),
            (224, 224, 1),
            (10, 10, 1),
        ] {
            assert_eq!(reduction(w, h, 224), s, "{w}x{h}");
            assert!(w.min(h).div_ceil(s) >= 224 || s == 1);
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/images/formats");
        std::fs::read(dir.join(name)).unwrap()
    }

    #[test]
    fn colour_and_grey_photos_decode_at_the_reduced_size_cmyk_falls_back() {
        let image = decode_reduced(&fixture("jpeg_large.jpg"), 1800, 1200, 4)
            .unwrap()
            .unwrap();
        assert_eq!((image.width(), image.height()), (450, 300));
        assert!(matches!(image, DynamicImage::ImageRgb8(_)));
        let image = decode_reduced(&fixture("jpeg_large_gray.jpg"), 900, 600, 2)
            .unwrap()
            .unwrap();
        assert_eq!((image.width(), image.height()), (450, 300));
        assert!(matches!(image, DynamicImage::ImageLuma8(_)));
        // Stored turned (EXIF orientation 6): the stored size, turned later by the caller.
        let image = decode_reduced(&fixture("jpeg_large_exif_6.jpg"), 600, 900, 2)
            .unwrap()
            .unwrap();
        assert_eq!((image.width(), image.height()), (300, 450));
        assert!(
            decode_reduced(&fixture("jpeg_cmyk.jpg"), 96, 64, 2)
                .unwrap()
                .is_none()
        );
    }
}
