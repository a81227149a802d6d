//! Image input: decoding with limits, EXIF orientation, raw camera frames, and
//! the exact crop-and-resize of the Python reference (`scripts/lightcap/preprocess.py`):
//! alpha over white, centre square crop, separable antialiased triangle filter,
//! RGB planes in [0, 1].

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// An image to caption.
#[derive(Debug, Clone, Copy)]
pub enum ImageInput<'a> {
    /// Encoded bytes: JPEG, PNG, WebP, GIF, BMP or TIFF (format sniffed from the data).
    Encoded(&'a [u8]),
    /// A file holding an encoded image.
    File(&'a Path),
    /// Uncompressed pixels, as a camera or a bitmap gives them.
    Raw(RawFrame<'a>),
}

/// Uncompressed 8-bit pixels with an explicit row stride.
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    pub pixels: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// Bytes from the start of one row to the next (at least width * bytes per pixel).
    pub stride: usize,
    pub format: PixelFormat,
}

/// Channel layout of a raw frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Android `Bitmap.Config.ARGB_8888` memory order and CameraX RGBA_8888 output.
    Rgba8,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra8,
    Rgb8,
}

impl PixelFormat {
    fn layout(self) -> (usize, [usize; 3], Option<usize>) {
        match self {
            PixelFormat::Rgba8 => (4, [0, 1, 2], Some(3)),
            PixelFormat::Bgra8 => (4, [2, 1, 0], Some(3)),
            PixelFormat::Rgb8 => (3, [0, 1, 2], None),
        }
    }
}

/// A borrowed view of 8-bit pixel rows in any channel order.
struct Pixels<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    channels: usize,
    rgb: [usize; 3],
    alpha: Option<usize>,
}

impl Pixels<'_> {
    /// Row y, columns x0..x0+out.len(), as RGB in [0, 1] with alpha composited over white.
    fn row(&self, y: usize, x0: usize, out: &mut [[f32; 3]]) {
        let start = y * self.stride + x0 * self.channels;
        let row = &self.data[start..start + out.len() * self.channels];
        for (px, dst) in row.chunks_exact(self.channels).zip(out.iter_mut()) {
            let a = self.alpha.map_or(1.0, |i| f32::from(px[i]) / 255.0);
            for (c, &src) in self.rgb.iter().enumerate() {
                dst[c] = f32::from(px[src]) / 255.0 * a + (1.0 - a);
            }
        }
    }
}

/// Decoded image plus how long decoding took.
pub(crate) enum Decoded<'a> {
    Owned(DynamicImage),
    Borrowed(RawFrame<'a>),
}

/// Decode an image for a model whose input is `size` x `size` (a large JPEG is decoded
/// at reduced scale, see the `jpeg` module).
pub(crate) fn decode(input: ImageInput<'_>, max_pixels: u64, size: usize) -> Result<Decoded<'_>> {
    match input {
        ImageInput::Encoded(bytes) => decode_bytes(bytes, max_pixels, size).map(Decoded::Owned),
        ImageInput::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
            decode_bytes(&bytes, max_pixels, size).map(Decoded::Owned)
        }
        ImageInput::Raw(frame) => {
            check_frame(&frame, max_pixels)?;
            Ok(Decoded::Borrowed(frame))
        }
    }
}

fn check_size(width: u32, height: u32, max_pixels: u64) -> Result<()> {
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Error::ImageTooLarge {
            width,
            height,
            limit: max_pixels,
        });
    }
    Ok(())
}

fn check_frame(frame: &RawFrame<'_>, max_pixels: u64) -> Result<()> {
    let (channels, _, _) = frame.format.layout();
    if frame.width == 0 || frame.height == 0 {
        return Err(Error::InvalidFrame(format!(
            "frame is {}x{}",
            frame.width, frame.height
        )));
    }
    check_size(frame.width, frame.height, max_pixels)?;
    let row = frame.width as usize * channels;
    if frame.stride < row {
        return Err(Error::InvalidFrame(format!(
            "stride {} is less than width {} x {} bytes per pixel",
            frame.stride, frame.width, channels
        )));
    }
    let needed = frame.stride * (frame.height as usize - 1) + row;
    if frame.pixels.len() < needed {
        return Err(Error::InvalidFrame(format!(
            "{} bytes given, {}x{} {:?} with stride {} needs {}",
            frame.pixels.len(),
            frame.width,
            frame.height,
            frame.format,
            frame.stride,
            needed
        )));
    }
    Ok(())
}

/// Whether an end-of-image marker (FF D9) follows the last start-of-scan (FF DA). Scan
/// data never holds an FF followed by a marker byte (FF is stuffed as FF 00), and an EXIF
/// thumbnail's markers all come before the main image's scans.
fn jpeg_has_end_after_last_scan(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan {
        Some(at) => bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// The name of an image format phones save that this build leaves to the platform's
/// decoder: HEIC/HEIF (an iPhone's camera default, many Android phones') and AVIF, both
/// ISO base media files whose `ftyp` box names the brand (major or compatible).
fn platform_only_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(12, bytes.len());
    // The major brand (8..12), then the compatible brands after the minor version (16..).
    let brands =
        std::iter::once(&bytes[8..12]).chain(bytes.get(16..end).unwrap_or(&[]).chunks_exact(4));
    for brand in brands {
        match brand {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs"
            | b"mif1" | b"msf1" => return Some("HEIC/HEIF"),
            b"avif" | b"avis" => return Some("AVIF"),
            _ => {}
        }
    }
    None
}

fn decode_bytes(bytes: &[u8], max_pixels: u64, size: usize) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(Error::EmptyImage);
    }
    if let Some(name) = platform_only_format(bytes) {
        return Err(Error::UnsupportedImageFormat(format!(
            "{name}: LightCap does not decode it; decode it with the platform (Android \
             ImageDecoder, iOS ImageIO) and pass the pixels (docs/app-developers.md, \
             \"Images the SDK reads\")"
        )));
    }
    let format = image::guess_format(bytes).map_err(|_| {
        Error::UnsupportedImageFormat("the data is not in a known image format".into())
    })?;
    let name = format_name(format);
    let broken = |e: image::ImageError| match e {
        image::ImageError::Unsupported(u) => Error::UnsupportedImageFormat(format!("{name}: {u}")),
        image::ImageError::Limits(l) => Error::ImageDecode {
            format: name.clone(),
            reason: format!("over a limit: {l}"),
        },
        other => Error::ImageDecode {
            format: name.clone(),
            reason: other.to_string(),
        },
    };
    if format == ImageFormat::Jpeg && !jpeg_has_end_after_last_scan(bytes) {
        // The JPEG decoder fills a cut-off file with gray and reports success: a half-gray
        // picture would be described as if it were the photo.
        return Err(Error::ImageDecode {
            format: name,
            reason: "the file is truncated: no end-of-image marker after the last scan".into(),
        });
    }
    // The header's claimed size is checked before any pixel buffer exists.
    let mut header = ImageReader::with_format(Cursor::new(bytes), format);
    header.no_limits();
    let (width, height) = header.into_dimensions().map_err(broken)?;
    check_size(width, height, max_pixels)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Backstops inside the decoders, in case a format's header under-reports.
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(max_pixels.saturating_mul(16).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(broken)?;
    if width == 0 || height == 0 {
        return Err(Error::ImageDecode {
            format: name,
            reason: format!("image is {width}x{height}"),
        });
    }
    let orientation = decoder.orientation().map_err(broken)?;
    let reduction = crate::jpeg::reduction(width, height, size);
    if format == ImageFormat::Jpeg
        && reduction > 1
        && let Some(mut image) = crate::jpeg::decode_reduced(bytes, width, height, reduction)?
    {
        image.apply_orientation(orientation);
        return Ok(image);
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(broken)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn format_name(format: ImageFormat) -> String {
    format!("{format:?}").to_uppercase()
}

/// Crop and resize to [3, size, size] RGB planes in [0, 1].
pub(crate) fn to_model_input(decoded: &Decoded<'_>, size: usize) -> Vec<f32> {
    match decoded {
        Decoded::Borrowed(frame) => {
            let (channels, rgb, alpha) = frame.format.layout();
            let pixels = Pixels {
                data: frame.pixels,
                width: frame.width as usize,
                height: frame.height as usize,
                stride: frame.stride,
                channels,
                rgb,
                alpha,
            };
            resize(&pixels, size)
        }
        Decoded::Owned(image) => {
            let (w, h) = (image.width() as usize, image.height() as usize);
            let view = |data, channels, alpha| Pixels {
                data,
                width: w,
                height: h,
                stride: w * channels,
                channels,
                rgb: [0, 1, 2],
                alpha,
            };
            match image {
                DynamicImage::ImageRgb8(buf) => resize(&view(buf.as_raw(), 3, None), size),
                DynamicImage::ImageRgba8(buf) => resize(&view(buf.as_raw(), 4, Some(3)), size),
                // Grey, 16-bit and float images: convert to RGBA8 first.
                other => {
                    let rgba = other.to_rgba8();
                    resize(&view(rgba.as_raw(), 4, Some(3)), size)
                }
            }
        }
    }
}

/// For each output index: the first source tap and the normalised weights.
fn resize_weights(source: usize, target: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = source as f64 / target as f64;
    let support = scale.max(1.0);
    (0..target)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let first = ((center - support).floor() as i64).max(0) as usize;
            let last = ((center + support).ceil() as i64).min(source as i64 - 1) as usize;
            let raw: Vec<f64> = (first..=last)
                .map(|j| (1.0 - ((j as f64 + 0.5 - center) / support).abs()).max(0.0))
                .collect();
            let total: f64 = raw.iter().sum();
            (first, raw.iter().map(|w| (w / total) as f32).collect())
        })
        .collect()
}

fn resize(pixels: &Pixels<'_>, size: usize) -> Vec<f32> {
    let side = pixels.width.min(pixels.height);
    let x0 = (pixels.width - side) / 2;
    let y0 = (pixels.height - side) / 2;
    let weights = resize_weights(side, size);

    // Horizontal pass: every source row of the crop -> `size` columns.
    let mut row = vec![[0f32; 3]; side];
    let mut horizontal = vec![[0f32; 3]; side * size];
    for y in 0..side {
        pixels.row(y0 + y, x0, &mut row);
        let out = &mut horizontal[y * size..(y + 1) * size];
        for (dst, (first, w)) in out.iter_mut().zip(&weights) {
            let mut acc = [0f32; 3];
            for (src, &wt) in row[*first..].iter().zip(w) {
                for c in 0..3 {
                    acc[c] += wt * src[c];
                }
            }
            *dst = acc;
        }
    }

    // Vertical pass into RGB planes.
    let plane = size * size;
    let mut out = vec![0f32; 3 * plane];
    for (i, (first, w)) in weights.iter().enumerate() {
        for x in 0..size {
            let mut acc = [0f32; 3];
            for (t, &wt) in w.iter().enumerate() {
                let src = horizontal[(first + t) * size + x];
                for c in 0..3 {
                    acc[c] += wt * src[c];
                }
            }
            // A convex combination of values in [0, 1], but summed in f32 it can land
            // a rounding step above 1 (the Python reference sums in f64).
            for c in 0..3 {
                out[c * plane + i * size + x] = acc[c].clamp(0.0, 1.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_stay_in_bounds() {
        for (source, target) in [(1, 224), (7, 224), (224, 224), (500, 224), (4001, 224)] {
            for (first, w) in resize_weights(source, target) {
                assert!(first + w.len() <= source, "{source}->{target}");
                let sum: f32 = w.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn white_stays_within_one_when_shrinking() {
        // 450 x 300 to 224: many taps per output, whose f32 sum can round above 1.
        let pixels = vec![255u8; 450 * 300 * 3];
        let frame = RawFrame {
            pixels: &pixels,
            width: 450,
            height: 300,
            stride: 450 * 3,
            format: PixelFormat::Rgb8,
        };
        let out = to_model_input(&Decoded::Borrowed(frame), 224);
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v) && v > 0.9999));
    }

    #[test]
    fn flat_colour_stays_flat_and_alpha_goes_over_white() {
        let mut pixels = vec![0u8; 10 * 6 * 4];
        for px in pixels.chunks_exact_mut(4) {
            px.copy_from_slice(&[200, 100, 0, 128]);
        }
        let frame = RawFrame {
            pixels: &pixels,
            width: 10,
            height: 6,
            stride: 40,
            format: PixelFormat::Rgba8,
        };
        let out = to_model_input(&Decoded::Borrowed(frame), 16);
        let a = 128.0 / 255.0;
        for (c, v) in [200.0f32, 100.0, 0.0].iter().enumerate() {
            let expected = v / 255.0 * a + (1.0 - a);
            assert!(
                out[c * 256..(c + 1) * 256]
                    .iter()
                    .all(|x| (x - expected).abs() < 1e-5)
            );
        }
    }

    #[test]
    fn bgra_and_rgba_frames_agree() {
        let rgba: Vec<u8> = (0..8 * 8)
            .flat_map(|i| [i as u8, (i * 3) as u8, (255 - i) as u8, 255])
            .collect();
        let bgra: Vec<u8> = rgba
            .chunks(4)
            .flat_map(|p| [p[2], p[1], p[0], p[3]])
            .collect();
        let resize = |pixels: &[u8], format| {
            let frame = RawFrame {
                pixels,
                width: 8,
                height: 8,
                stride: 32,
                format,
            };
            to_model_input(&Decoded::Borrowed(frame), 8)
        };
        let (a, b) = (
            resize(&rgba, PixelFormat::Rgba8),
            resize(&bgra, PixelFormat::Bgra8),
        );
        assert_eq!(a, b);
    }
}
