//! The gate for uploaded photos of identity documents (MR-1, REG-7, CC-2). In two steps, so
//! that the expensive one comes after every cheap check of the request:
//!
//! 1. [`inspect`] reads only the bytes: size, the JPEG markers, and the width × height the frame
//!    header declares. A decompression bomb (a 184 KB file that claims 5600 × 5600 pixels and
//!    would take 94 MB to decode) is refused here, before any pixel is decoded.
//! 2. [`Decoder::admit`] decodes it for real on a bounded number of blocking threads (as the
//!    argon2 pool bounds hashing): past `max_concurrent` decodes the rest wait, and past
//!    `queue_limit` waiting ones the request gets 503 `server_busy` at once. What is stored is
//!    the photo without its metadata segments (EXIF GPS position and phone model, comments):
//!    staff need the picture, not where it was taken (PIPL minimisation).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder};
use tokio::sync::Semaphore;

use crate::error::{ErrorCode, AppError, AppResult};

/// Under 190 KB as the applicant's computer counts it (1 KB = 1,024 bytes).
pub const MAX_PHOTO_BYTES: usize = 190 * 1024;
/// A phone's 12-megapixel photo (4000 × 3000) is the largest a person sends; nothing of this
/// size needs more to show an ID card legibly. Decoded, that is 36 MB of RGB.
pub const MAX_PIXELS: u64 = 12_000_000;
/// No side longer than a 48 MP sensor's, whatever the product.
pub const MAX_SIDE: u32 = 8_000;
pub const MIN_SIDE: u32 = 120;

/// An upload that passed the cheap checks: a JPEG whose header declares a sane size.
pub struct Upload {
    field: &'static str,
    bytes: Vec<u8>,
}

/// A photo that decoded, as it is stored: without metadata segments.
pub struct Photo(Vec<u8>);

impl Photo {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn bad_photo(field: &'static str, message: impl Into<std::borrow::Cow<'static, str>>) -> AppError {
    AppError::invalid(ErrorCode::InvalidPhoto, field, message)
}

/// Step 1: the cheap checks, on the bytes alone.
pub fn inspect(field: &'static str, bytes: Vec<u8>) -> AppResult<Upload> {
    match declared_size(&bytes) {
        Ok(_) => Ok(Upload { field, bytes }),
        Err(message) => Err(bad_photo(field, message)),
    }
}

/// The size the frame header declares, or what to tell the applicant.
pub fn declared_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    if bytes.is_empty() {
        return Err("请上传照片（JPG格式，小于190KB）。".into());
    }
    if bytes.len() >= MAX_PHOTO_BYTES {
        // Sized as the applicant's Explorer or phone shows it: rounded up, 1 KB = 1,024 bytes.
        return Err(format!("照片大小为{}KB，应小于190KB，请压缩后重新上传。", bytes.len().div_ceil(1024)));
    }
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err("照片格式应为JPG或JPEG，请重新选择。".into());
    }
    // Decoders fill a cut-off image with grey rather than fail, so insist on the end-of-image
    // marker (FF D9 appears nowhere else but at the end of entropy-coded data); some writers
    // pad a few bytes after it.
    let end = bytes.iter().rposition(|b| *b != 0x00 && !b.is_ascii_whitespace()).unwrap_or(0);
    if end < 1 || bytes[end - 1..=end] != [0xFF, 0xD9] {
        return Err("照片文件不完整，请重新选择或重新拍摄。".into());
    }
    let Some((width, height)) = segments(bytes).find_map(|s| s.frame_size()) else {
        return Err("照片无法识别（文件不完整或不是JPG图片），请重新选择。".into());
    };
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err("照片太小，无法看清证件信息，请上传清晰的照片。".into());
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("照片像素过大（{width}×{height}），请缩小到1200万像素（如4000×3000）以内后重新上传。"));
    }
    Ok((width, height))
}

/// One marker segment before the scan: its marker byte and its body (after the length).
struct Segment<'a> {
    marker: u8,
    body: &'a [u8],
    /// Where the segment (its FF) starts and where the next one does.
    span: (usize, usize),
}

impl Segment<'_> {
    /// SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    fn frame_size(&self) -> Option<(u32, u32)> {
        let sof = matches!(self.marker, 0xC0..=0xCF) && !matches!(self.marker, 0xC4 | 0xC8 | 0xCC);
        if !sof || self.body.len() < 5 {
            return None;
        }
        let height = u32::from(u16::from_be_bytes([self.body[1], self.body[2]]));
        let width = u32::from(u16::from_be_bytes([self.body[3], self.body[4]]));
        Some((width, height))
    }

    /// APP0..APP15 and COM: metadata, not picture.
    fn is_metadata(&self) -> bool {
        matches!(self.marker, 0xE0..=0xEF | 0xFE)
    }
}

/// The marker segments from SOI up to the start of scan, each with a length: total on any
/// input (a truncated or lying length ends the walk).
fn segments(bytes: &[u8]) -> impl Iterator<Item = Segment<'_>> {
    let mut at = 2; // after SOI
    std::iter::from_fn(move || loop {
        if bytes.get(at) != Some(&0xFF) {
            return None;
        }
        // Fill bytes: any number of FF before a marker.
        let mut m = at + 1;
        while bytes.get(m) == Some(&0xFF) {
            m += 1;
        }
        let marker = *bytes.get(m)?;
        // Markers without a length: TEM, RSTn. SOS or EOI end the header.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            at = m + 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(m + 1)?, *bytes.get(m + 2)?]));
        let end = (m + 1).checked_add(len).filter(|e| *e <= bytes.len() && len >= 2)?;
        let segment = Segment { marker, body: &bytes[m + 3..end], span: (at, end) };
        at = end;
        return Some(segment);
    })
}

/// The same JPEG without APPn and COM segments; the rest, scan included, byte for byte.
pub fn strip_metadata(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2.min(bytes.len())]);
    let mut last = 2.min(bytes.len());
    for s in segments(bytes) {
        if !s.is_metadata() {
            out.extend_from_slice(&bytes[s.span.0..s.span.1]);
        }
        last = s.span.1;
    }
    out.extend_from_slice(&bytes[last..]);
    out
}

/// Step 2: decode for real, bounded. Past the bound the request waits; past the queue it is
/// refused at once (503 `server_busy`), so a flood of uploads holds at most
/// `max_concurrent` × 36 MB of pixels.
#[derive(Clone)]
pub struct Decoder {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue_limit: usize,
}

impl Decoder {
    pub fn new(max_concurrent: usize, queue_limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), waiting: Arc::default(), queue_limit }
    }

    pub async fn admit(&self, upload: Upload) -> AppResult<Photo> {
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let permit = if queued >= self.queue_limit { None } else { self.permits.clone().acquire_owned().await.ok() };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let Some(permit) = permit else {
            return Err(AppError::new(ErrorCode::ServerBusy, "当前访问人数较多，请稍后重试。").with("retry_after", 1));
        };
        let Upload { field, bytes } = upload;
        let judged = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            decode_and_clean(&bytes)
        })
        .await?;
        judged.map(Photo).map_err(|message| bad_photo(field, message))
    }
}

/// The whole gate on the bytes: what is stored, or what to tell the applicant. Total: a decoder
/// bug must not become a 500 (zune-jpeg 0.5.15 panics in its AVX2 IDCT on some crafted files,
/// found by fuzzing, kept in fuzz/regressions/jpeg_gate); such a file is a picture we cannot read.
pub fn decode_and_clean(bytes: &[u8]) -> Result<Vec<u8>, String> {
    declared_size(bytes)?;
    let unreadable = || "照片无法识别（文件不完整或不是JPG图片），请重新选择。".to_owned();
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> image::ImageResult<(DynamicImage, Orientation)> {
        let mut decoder = JpegDecoder::new(std::io::Cursor::new(bytes))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_PIXELS * 4 + (16 << 20));
        decoder.set_limits(limits)?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        Ok((DynamicImage::from_decoder(decoder)?, orientation))
    }));
    let Ok(Ok((mut img, orientation))) = decoded else {
        return Err(unreadable());
    };
    if img.width() < MIN_SIDE || img.height() < MIN_SIDE {
        return Err("照片太小，无法看清证件信息，请上传清晰的照片。".into());
    }
    if orientation == Orientation::NoTransforms {
        return Ok(strip_metadata(bytes));
    }
    // The EXIF orientation goes with the metadata: turn the pixels instead, so staff see the
    // card upright, and store that picture.
    img.apply_orientation(orientation);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).map_err(|_| unreadable())?;
    Ok(strip_metadata(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).expect("encode");
        out
    }

    /// `bytes` with `segment` (marker and body) inserted after SOI.
    fn with_segment(bytes: &[u8], marker: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 2).expect("short");
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&bytes[2..]);
        out
    }

    /// A tiny JPEG whose frame header is rewritten to claim `width` × `height`.
    fn lying(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = jpeg(200, 200);
        let at = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF0");
        bytes[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
        bytes[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    }

    #[test]
    fn a_file_that_panics_the_jpeg_decoder_is_refused() {
        let bytes = include_bytes!("../../../../fuzz/regressions/jpeg_gate/zune_jpeg_avx2_idct_panic.jpg");
        assert_eq!(decode_and_clean(bytes), Err("照片无法识别（文件不完整或不是JPG图片），请重新选择。".to_owned()));
    }

    #[test]
    fn the_frame_header_is_read_without_decoding() {
        assert_eq!(declared_size(&jpeg(320, 200)), Ok((320, 200)));
        assert_eq!(declared_size(&with_segment(&jpeg(300, 400), 0xE1, b"Exif\0\0junk")), Ok((300, 400)));
    }

    #[test]
    fn bombs_are_refused_by_their_declared_size() {
        let err = declared_size(&lying(5600, 5600)).unwrap_err();
        assert!(err.contains("5600×5600"), "{err}");
        assert!(declared_size(&lying(4000, 3000)).is_ok());
        assert!(declared_size(&lying(4001, 3000)).is_err());
        assert!(declared_size(&lying(9000, 200)).is_err());
        assert!(declared_size(&lying(100, 3000)).is_err());
    }

    #[test]
    fn malformed_headers_are_unreadable_not_a_panic() {
        let good = jpeg(200, 200);
        for cut in [3usize, 4, 5, 6, 10, 20] {
            let mut truncated = good[..cut].to_vec();
            truncated.extend_from_slice(&[0xFF, 0xD9]);
            assert!(declared_size(&truncated).is_err(), "cut at {cut}");
        }
        // A segment length running past the end.
        let mut lying_len = good.clone();
        lying_len[4..6].copy_from_slice(&[0xFF, 0xFF]);
        assert!(declared_size(&lying_len).is_err());
    }

    #[test]
    fn metadata_segments_are_stripped_and_the_picture_kept() {
        let plain = jpeg(240, 160);
        let tagged = with_segment(&with_segment(&plain, 0xE1, b"Exif\0\0GPS 39.9N 116.4E iPhone 15"), 0xFE, b"comment");
        let stored = decode_and_clean(&tagged).expect("a good photo");
        assert!(!stored.windows(3).any(|w| w == b"GPS"), "EXIF removed");
        assert!(!stored.windows(7).any(|w| w == b"comment"), "COM removed");
        assert!(!stored.windows(2).any(|w| w == [0xFF, 0xE1] || w == [0xFF, 0xE0] || w == [0xFF, 0xFE]));
        let a = image::load_from_memory(&stored).expect("decodes").to_rgb8();
        let b = image::load_from_memory(&plain).expect("decodes").to_rgb8();
        assert_eq!(a.as_raw(), b.as_raw(), "the same pixels");
    }

    #[test]
    fn an_exif_rotation_is_applied_to_the_pixels() {
        // A minimal big-endian TIFF with one IFD entry: Orientation (0x0112) = 6 (turn right).
        let exif: &[u8] = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
        let stored = decode_and_clean(&with_segment(&jpeg(240, 160), 0xE1, exif)).expect("a good photo");
        let img = image::load_from_memory(&stored).expect("decodes");
        assert_eq!((img.width(), img.height()), (160, 240), "upright");
        assert!(!stored.windows(4).any(|w| w == b"Exif"));
    }
}
