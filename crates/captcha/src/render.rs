//! Drawing holes into the background, cutting the piece out of it, and encoding both.

use crate::shape::Mask;
use crate::WIDTH;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

const W: usize = WIDTH as usize;
/// JPEG quality: high enough that the hole's edge stays crisp, low enough for the size budget.
const JPEG_QUALITY: u8 = 80;

/// How a hole is drawn: how much it darkens, how bright its rim is, and what it is tinted to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HoleStyle {
    /// Target colour the inside is mixed towards, and how strongly (out of 256).
    pub(crate) fill: [i32; 3],
    pub(crate) fill_strength: i32,
    /// Strength of the light rim (out of 256).
    pub(crate) rim: i32,
}

impl HoleStyle {
    /// The real hole: clearly dark with a light edge.
    pub(crate) const REAL: HoleStyle = HoleStyle { fill: [0, 0, 0], fill_strength: 140, rim: 190 };
}

/// Draw a hole of `mask` with its top-left at (left, top). Only pixels the mask covers change.
pub(crate) fn carve_hole(bg: &mut [u8], mask: &Mask, left: u32, top: u32, style: HoleStyle) {
    let rim = ring(mask);
    for_each_covered(mask, left, top, |i, m, a| {
        let Some(pixel) = bg.get_mut(i..i + 3) else {
            return;
        };
        let fill = style.fill_strength * i32::from(a) / 255;
        let edge = style.rim * i32::from(rim[m]) / 255;
        for (p, f) in pixel.iter_mut().zip(style.fill) {
            let v = i32::from(*p);
            let v = v + (f - v) * fill / 256;
            *p = (v + (255 - v) * edge / 256).clamp(0, 255) as u8;
        }
    });
}

/// The piece as RGBA: background pixels inside the outline, a bright outline and a bevel so it
/// stays visible while dragging; fully transparent (and black, so nothing leaks) outside.
pub(crate) fn cut_piece(bg: &[u8], mask: &Mask, left: u32, top: u32) -> Vec<u8> {
    let inner = mask.eroded();
    let rim1 = ring_between(mask, &inner);
    let rim2 = ring_between(&inner, &inner.eroded());
    let mut rgba = vec![0u8; mask.alpha.len() * 4];
    for_each_covered(mask, left, top, |i, m, a| {
        let (Some(src), Some(dst)) = (bg.get(i..i + 3), rgba.get_mut(m * 4..m * 4 + 4)) else {
            return;
        };
        let (x, y) = ((m % mask.width as usize) as i64, (m / mask.width as usize) as i64);
        // Light from the top left: lit near the upper-left edge, shaded near the lower-right.
        let lit = i32::from(mask.at(x - 3, y - 3) < 255) * 40;
        let shaded = i32::from(mask.at(x + 3, y + 3) < 255) * 60;
        let glow = (220 * i32::from(rim1[m]) + 90 * i32::from(rim2[m])) / 255;
        for (d, s) in dst.iter_mut().zip(src) {
            let v = i32::from(*s);
            let v = v + (255 - v) * lit / 256;
            let v = v - v * shaded / 256;
            *d = (v + (255 - v) * glow / 256).clamp(0, 255) as u8;
        }
        dst[3] = a;
    });
    rgba
}

/// Calls `f(background byte index, mask index, coverage)` for every covered mask pixel placed at
/// (left, top) that lies inside the background.
fn for_each_covered(mask: &Mask, left: u32, top: u32, mut f: impl FnMut(usize, usize, u8)) {
    let (mw, left, top) = (mask.width as usize, left as usize, top as usize);
    for (m, &a) in mask.alpha.iter().enumerate() {
        let x = left + m % mw;
        if a == 0 || x >= W {
            continue;
        }
        f(((top + m / mw) * W + x) * 3, m, a);
    }
}

/// Outermost one-pixel ring of the mask, as coverage.
fn ring(mask: &Mask) -> Vec<u8> {
    ring_between(mask, &mask.eroded())
}

fn ring_between(outer: &Mask, inner: &Mask) -> Vec<u8> {
    outer.alpha.iter().zip(&inner.alpha).map(|(o, i)| o.saturating_sub(*i)).collect()
}

/// `data:image/jpeg;base64,…` of an RGB picture. Encoding into memory cannot fail for the fixed
/// sizes used here; if it ever did, an empty picture is better than a panic in a request.
pub(crate) fn jpeg_data_url(rgb: &[u8], width: u32, height: u32) -> String {
    let mut out = Vec::with_capacity(16 * 1024);
    let ok = rgb.len() == width as usize * height as usize * 3
        && JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode(rgb, width, height, ExtendedColorType::Rgb8).is_ok();
    data_url("image/jpeg", if ok { &out } else { &[] })
}

/// `data:image/png;base64,…` of an RGBA picture.
pub(crate) fn png_data_url(rgba: &[u8], width: u32, height: u32) -> String {
    let mut out = Vec::with_capacity(8 * 1024);
    let ok = rgba.len() == width as usize * height as usize * 4
        && PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
            .write_image(rgba, width, height, ExtendedColorType::Rgba8)
            .is_ok();
    data_url("image/png", if ok { &out } else { &[] })
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    let mut url = format!("data:{mime};base64,");
    STANDARD.encode_string(bytes, &mut url);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene;
    use crate::shape::Shape;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn hole_changes_exactly_the_covered_pixels() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..30 {
            let clean = scene::paint(&mut rng);
            let mask = Shape::random(&mut rng).mask();
            let (left, top) = (150, 40);
            let mut bg = clean.clone();
            carve_hole(&mut bg, &mask, left, top, HoleStyle::REAL);
            for y in 0..crate::HEIGHT as i64 {
                for x in 0..WIDTH as i64 {
                    let a = mask.at(x - i64::from(left), y - i64::from(top));
                    let i = (y as usize * W + x as usize) * 3;
                    let changed = clean[i..i + 3] != bg[i..i + 3];
                    if a == 0 {
                        assert!(!changed, "pixel {x},{y} outside the mask changed");
                    }
                    if a == 255 {
                        assert!(changed, "pixel {x},{y} inside the mask unchanged");
                    }
                }
            }
        }
    }

    #[test]
    fn piece_is_transparent_and_black_outside() {
        let mut rng = StdRng::seed_from_u64(6);
        let bg = scene::paint(&mut rng);
        let mask = Shape::random(&mut rng).mask();
        let rgba = cut_piece(&bg, &mask, 200, 10);
        for (px, a) in rgba.chunks_exact(4).zip(&mask.alpha) {
            assert_eq!(px[3], *a);
            if *a == 0 {
                assert_eq!(px, [0, 0, 0, 0]);
            }
        }
    }

    #[test]
    fn encoders_reject_wrong_sizes_without_panicking() {
        assert_eq!(jpeg_data_url(&[1, 2, 3], 2, 2), "data:image/jpeg;base64,");
        assert_eq!(png_data_url(&[1, 2, 3], 2, 2), "data:image/png;base64,");
        assert!(jpeg_data_url(&[9; 12], 2, 2).len() > 100);
    }
}
