//! Drawing holes into the background, cutting the piece out of it, and encoding both.

use crate::shape::Mask;
use crate::WIDTH;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rand::Rng;

const W: usize = WIDTH as usize;
/// JPEG quality: high enough that the hole's edge stays crisp, low enough for the size budget.
const JPEG_QUALITY: u8 = 80;

/// BT.601 luma weights (out of 1000), the ones JPEG and OpenCV's grey conversion use.
const LUMA: [i32; 3] = [299, 587, 114];

/// A hole's colour: a chroma vector with zero luma (in RGB units, x16 fixed point), and how much
/// of the picture's own chroma survives inside the hole (out of 256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tint {
    pub(crate) chroma: [i32; 3],
    pub(crate) keep: i32,
}

impl Tint {
    /// A vivid tint of hue `hue` (degrees), of strength `strength` out of 256.
    pub(crate) fn of_hue(hue: f32, strength: i32) -> Tint {
        let c = crate::scene::hsv(hue, 1.0, 1.0);
        let y = luma(c);
        Tint { chroma: c.map(|v| (v - y) * strength / 16), keep: 60 }
    }
}

/// Luma of an RGB triple, rounded.
fn luma(c: [i32; 3]) -> i32 {
    (c[0] * LUMA[0] + c[1] * LUMA[1] + c[2] * LUMA[2] + 500) / 1000
}

/// Colour a hole of `mask` into the picture with its top-left at (left, top), changing only the
/// chroma: the picture's luma, so its grey image, its brightness rings and its Canny edges, stay
/// as they were (up to rounding). A person sees a coloured jigsaw patch; a grey-level solver sees
/// nothing. Only pixels the mask covers change.
pub(crate) fn tint_hole(bg: &mut [u8], mask: &Mask, left: u32, top: u32, tint: Tint) {
    for_each_covered(mask, left, top, |i, _, a| {
        let Some(pixel) = bg.get_mut(i..i + 3) else {
            return;
        };
        let rgb = [0, 1, 2].map(|c| i32::from(pixel[c]));
        let y = luma(rgb);
        // Target chroma (x16): a little of the picture's own plus the tint, blended by coverage.
        let target: [i32; 3] = [0, 1, 2].map(|c| {
            let own = (rgb[c] - y) * 16;
            let inside = own * tint.keep / 256 + tint.chroma[c];
            own + (inside - own) * i32::from(a) / 255
        });
        // Scale the chroma down where it would leave 0..=255, which keeps luma exact.
        let mut scale = 256;
        for t in target {
            if t > 0 {
                scale = scale.min((255 - y) * 16 * 256 / t);
            } else if t < 0 {
                scale = scale.min(y * 16 * 256 / -t);
            }
        }
        for (p, t) in pixel.iter_mut().zip(target) {
            *p = (y + t * scale.max(0) / 4096).clamp(0, 255) as u8;
        }
    });
}

/// The piece as RGBA, drawn afresh rather than cut from the picture: the hole's tint over a
/// lighting gradient in a random direction, fine noise, a bevel and a light outline, so its
/// border pixels say nothing about the picture around the hole. Transparent (and black, so
/// nothing leaks) outside the outline.
pub(crate) fn render_piece<R: Rng + ?Sized>(rng: &mut R, mask: &Mask, tint: Tint) -> Vec<u8> {
    let inner = mask.eroded();
    let rim1 = ring_between(mask, &inner);
    let rim2 = ring_between(&inner, &inner.eroded());
    let base = rng.gen_range(110..170i32);
    let (gx, gy) = (rng.gen_range(-50..=50i32), rng.gen_range(-50..=50i32));
    let (w, h) = (mask.width as i32, mask.height as i32);
    let mut state = rng.gen::<u32>() | 1;
    let mut rgba = vec![0u8; mask.alpha.len() * 4];
    for (m, (&a, dst)) in mask.alpha.iter().zip(rgba.chunks_exact_mut(4)).enumerate() {
        if a == 0 {
            continue;
        }
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let (x, y) = ((m % mask.width as usize) as i32, (m / mask.width as usize) as i32);
        let (xi, yi) = (i64::from(x), i64::from(y));
        let lit = i32::from(mask.at(xi - 3, yi - 3) < 255) * 40;
        let shaded = i32::from(mask.at(xi + 3, yi + 3) < 255) * 50;
        let noise = (state & 15) as i32 - 8;
        let mut v = base + gx * (2 * x - w) / w + gy * (2 * y - h) / h + noise;
        v = v + (255 - v) * lit / 256 - v * shaded / 256;
        let glow = (220 * i32::from(rim1[m]) + 90 * i32::from(rim2[m])) / 255;
        let v = v.clamp(24, 232);
        for (c, d) in dst.iter_mut().take(3).enumerate() {
            let colour = (v + tint.chroma[c] / 16).clamp(0, 255);
            *d = (colour + (255 - colour) * glow / 256).clamp(0, 255) as u8;
        }
        dst[3] = a;
    }
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
            tint_hole(&mut bg, &mask, left, top, Tint::of_hue(rng.gen_range(0.0..360.0), 120));
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

    /// The hole is a change of colour only: grey levels (BT.601, as JPEG and OpenCV use) move by
    /// rounding at most, while the colour moves clearly.
    #[test]
    fn hole_keeps_luma_and_changes_chroma() {
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..30 {
            let clean = scene::paint(&mut rng);
            let mask = Shape::random(&mut rng).mask();
            let mut bg = clean.clone();
            tint_hole(&mut bg, &mask, 120, 30, Tint::of_hue(rng.gen_range(0.0..360.0), 120));
            let (mut moved, mut n) = (0i64, 0i64);
            for (a, b) in clean.chunks_exact(3).zip(bg.chunks_exact(3)) {
                let (ya, yb) = ([0, 1, 2].map(|c| i32::from(a[c])), [0, 1, 2].map(|c| i32::from(b[c])));
                assert!((luma(ya) - luma(yb)).abs() <= 1, "luma {ya:?} -> {yb:?}");
                if a != b {
                    n += 1;
                    moved += (0..3).map(|c| i64::from((ya[c] - yb[c]).abs())).sum::<i64>();
                }
            }
            assert!(n > 1000 && moved / n >= 30, "{n} pixels moved {moved} in all");
        }
    }

    #[test]
    fn piece_is_transparent_and_black_outside() {
        let mut rng = StdRng::seed_from_u64(6);
        let bg = scene::paint(&mut rng);
        let mask = Shape::random(&mut rng).mask();
        let _ = bg;
        let rgba = render_piece(&mut rng, &mask, Tint::of_hue(200.0, 120));
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
