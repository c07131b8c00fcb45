//! Procedural backgrounds: a sky gradient, soft lights, rolling hill bands, speckles and fine grain, all in
//! random colours, so no two pictures are alike and nothing has to be shipped or downloaded.

use crate::{HEIGHT, WIDTH};
use rand::Rng;

const W: usize = WIDTH as usize;
const H: usize = HEIGHT as usize;
/// Every channel ends up in this range, so darkening and lightening a hole always show.
pub(crate) const MIN_CHANNEL: u8 = 16;
pub(crate) const MAX_CHANNEL: u8 = 240;

type Rgb = [i32; 3];

/// A fresh WIDTH x HEIGHT RGB picture, row-major, 3 bytes a pixel.
pub(crate) fn paint<R: Rng + ?Sized>(rng: &mut R) -> Vec<u8> {
    let mut px = vec![0u8; W * H * 3];
    let hue = rng.gen_range(0.0..360.0f32);
    sky(rng, hue, &mut px);
    for _ in 0..rng.gen_range(1..=3) {
        glow(rng, hue, &mut px);
    }
    let layers = rng.gen_range(2..=4);
    for k in 0..layers {
        hills(rng, hue, k, layers, &mut px);
    }
    speckles(rng, hue, &mut px);
    grain(rng, &mut px);
    px
}

fn sky<R: Rng + ?Sized>(rng: &mut R, hue: f32, px: &mut [u8]) {
    let top = hsv(hue + rng.gen_range(-25.0..25.0), rng.gen_range(0.2..0.6), rng.gen_range(0.7..0.95));
    let bottom = hsv(hue + rng.gen_range(-60.0..60.0), rng.gen_range(0.1..0.4), rng.gen_range(0.8..1.0));
    let side = hsv(hue + 180.0, 0.5, 1.0).map(|c| (c - 128) * rng.gen_range(0..40) / 128);
    let column: Vec<Rgb> = (0..W as i32).map(|x| side.map(|d| d * (2 * x - W as i32) / W as i32)).collect();
    for (y, row) in px.chunks_exact_mut(W * 3).enumerate() {
        let f = y as i32 * 256 / (H as i32 - 1);
        let base: Rgb = [0, 1, 2].map(|c| top[c] + (bottom[c] - top[c]) * f / 256);
        for (pixel, d) in row.chunks_exact_mut(3).zip(&column) {
            for ((p, b), d) in pixel.iter_mut().zip(base).zip(d) {
                *p = clamp(b + d);
            }
        }
    }
}

/// A large soft light in the sky: a sun, a cloud, a blur of light.
fn glow<R: Rng + ?Sized>(rng: &mut R, hue: f32, px: &mut [u8]) {
    let colour = hsv(hue + rng.gen_range(90.0..270.0), rng.gen_range(0.1..0.6), rng.gen_range(0.85..1.0));
    let rx = rng.gen_range(12..45i32);
    let ry = rx * rng.gen_range(50..120) / 100;
    let (cx, cy) = (rng.gen_range(0..W as i32), rng.gen_range(0..H as i32 * 3 / 5));
    ellipse(px, (cx, cy), (rx, ry), colour, rng.gen_range(120..230));
}

/// Small soft spots over the land, like bushes or flowers: local detail that leaves a template
/// matcher many false edges to chase.
fn speckles<R: Rng + ?Sized>(rng: &mut R, hue: f32, px: &mut [u8]) {
    for _ in 0..rng.gen_range(8..=24) {
        let colour = hsv(hue + rng.gen_range(-120.0..120.0), rng.gen_range(0.2..0.8), rng.gen_range(0.3..1.0));
        let r = rng.gen_range(2..7i32);
        let (cx, cy) = (rng.gen_range(0..W as i32), rng.gen_range(H as i32 / 3..H as i32));
        ellipse(px, (cx, cy), (r, r * rng.gen_range(60..140) / 100), colour, rng.gen_range(60..170));
    }
}

/// A soft-edged ellipse, opaque (at `opacity` out of 256) over the inner half of its radius.
fn ellipse(px: &mut [u8], (cx, cy): (i32, i32), (rx, ry): (i32, i32), colour: Rgb, opacity: i32) {
    let (rx, ry) = (rx.max(1), ry.max(1));
    const ONE: i32 = 1 << 16; // squared, normalised radius in 8.8 fixed point
    const INNER: i32 = ONE / 4; // fully opaque within half the radius
    let (x0, x1) = ((cx - rx).max(0), (cx + rx).min(W as i32));
    // Normalised horizontal offsets once per column rather than a division per pixel.
    let dxs: Vec<i32> = (x0..x1).map(|x| ((x - cx) * 256 / rx).pow(2)).collect();
    for y in (cy - ry).max(0)..(cy + ry).min(H as i32) {
        let dy2 = ((y - cy) * 256 / ry).pow(2);
        let row = y as usize * W;
        for (x, dx2) in (x0..x1).zip(&dxs) {
            let d2 = dx2 + dy2;
            if d2 >= ONE {
                continue;
            }
            let a = if d2 <= INNER { opacity } else { opacity * ((ONE - d2) >> 8) / ((ONE - INNER) >> 8) };
            let i = (row + x as usize) * 3;
            blend(&mut px[i..i + 3], colour, a);
        }
    }
}

/// Hill band `k` of `n` (0 is farthest): a wavy ridge filled down to the bottom, lighter and
/// hazier far away, shaded darker below its crest.
fn hills<R: Rng + ?Sized>(rng: &mut R, hue: f32, k: i32, n: i32, px: &mut [u8]) {
    let base = H as f32 * (0.3 + 0.55 * (k + 1) as f32 / (n + 1) as f32) + rng.gen_range(-6.0..6.0);
    let big = rng.gen_range(4.0..(22.0 - 3.0 * k as f32));
    let small = rng.gen_range(1.0..5.0f32);
    let tiny = rng.gen_range(0.3..1.5f32);
    let tau = std::f32::consts::TAU / W as f32;
    let f1 = tau * rng.gen_range(0.4..2.5f32);
    let f2 = tau * rng.gen_range(3.0..8.0f32);
    let f3 = tau * rng.gen_range(12.0..30.0f32);
    let (p1, p2) = (rng.gen_range(0.0..6.3f32), rng.gen_range(0.0..6.3f32));
    let colour =
        hsv(hue + rng.gen_range(-70.0..70.0), rng.gen_range(0.25..0.7), 0.9 - 0.45 * k as f32 / n as f32 + rng.gen_range(-0.05..0.05));
    let shade = rng.gen_range(40..110i32);
    // Ridge height per column in sixteenths of a pixel, for an anti-aliased crest.
    let ridge: Vec<i32> = (0..W)
        .map(|x| {
            let x = x as f32;
            let wave = big * (f1 * x + p1).sin() + small * (f2 * x + p2).sin() + tiny * (f3 * x).sin();
            ((base + wave) * 16.0) as i32
        })
        .collect();
    // The band darkens over its first 48 px below the crest; one colour per depth.
    let shades: Vec<Rgb> = (0..=48).map(|d| colour.map(|v| v * (256 - shade * d / 48) / 256)).collect();
    let top = ridge.iter().copied().min().unwrap_or(0).max(0) / 16;
    for y in top as usize..H {
        let row = y as i32 * 16;
        for (x, r) in ridge.iter().enumerate() {
            let cover = (row + 16 - r).clamp(0, 16);
            if cover == 0 {
                continue;
            }
            let c = shades[((row - r) / 16).clamp(0, 48) as usize];
            let i = (y * W + x) * 3;
            if cover == 16 {
                for (p, v) in px[i..i + 3].iter_mut().zip(c) {
                    *p = clamp(v);
                }
            } else {
                blend(&mut px[i..i + 3], c, cover * 16);
            }
        }
    }
}

/// Fine luminance grain. A cheap xorshift gives four pixels' noise per step.
fn grain<R: Rng + ?Sized>(rng: &mut R, px: &mut [u8]) {
    let mut state = rng.gen::<u32>() | 1;
    let amp = rng.gen_range(2..=4u32);
    let span = 2 * amp + 1;
    for quad in px.chunks_mut(12) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        for (k, pixel) in quad.chunks_exact_mut(3).enumerate() {
            let n = ((((state >> (8 * k)) & 0xff) * span) >> 8) as i32 - amp as i32;
            for c in pixel {
                let v = i32::from(*c) + n;
                *c = v.clamp(i32::from(MIN_CHANNEL), i32::from(MAX_CHANNEL)) as u8;
            }
        }
    }
}

/// Mix `colour` over a pixel with opacity `a` out of 256.
fn blend(pixel: &mut [u8], colour: Rgb, a: i32) {
    for (p, c) in pixel.iter_mut().zip(colour) {
        let v = i32::from(*p);
        *p = clamp(v + (c - v) * a / 256);
    }
}

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Hue (degrees) of the mean colour of a w x h box at (left, top); 0 for grey.
pub(crate) fn hue_around(px: &[u8], left: u32, top: u32, w: u32, h: u32) -> f32 {
    let mut sum = [0f32; 3];
    for y in top as usize..(top + h).min(HEIGHT) as usize {
        for x in left as usize..(left + w).min(WIDTH) as usize {
            let i = (y * W + x) * 3;
            for (s, c) in sum.iter_mut().zip(&px[i..i + 3]) {
                *s += f32::from(*c);
            }
        }
    }
    let [r, g, b] = sum;
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    if max - min <= f32::EPSILON {
        return 0.0;
    }
    let d = max - min;
    let h = if max == r {
        (g - b) / d
    } else if max == g {
        2.0 + (b - r) / d
    } else {
        4.0 + (r - g) / d
    };
    (h * 60.0).rem_euclid(360.0)
}

/// HSV (hue in degrees, any value; s and v in 0..=1) to 0..=255 RGB.
pub(crate) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h = h.rem_euclid(360.0) / 60.0;
    let (s, v) = (s.clamp(0.0, 1.0), v.clamp(0.0, 1.0));
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|ch| ((ch + m) * 255.0).round() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn pictures_differ_and_stay_in_range() {
        let mut rng = StdRng::seed_from_u64(11);
        let a = paint(&mut rng);
        let b = paint(&mut rng);
        assert_eq!(a.len(), W * H * 3);
        assert!(a.iter().all(|c| (MIN_CHANNEL..=MAX_CHANNEL).contains(c)));
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same < a.len() / 4, "{same} equal bytes");
    }

    #[test]
    fn pictures_are_not_flat() {
        let mut rng = StdRng::seed_from_u64(12);
        for _ in 0..20 {
            let px = paint(&mut rng);
            let lo = px.iter().copied().min().unwrap_or(0);
            let hi = px.iter().copied().max().unwrap_or(0);
            assert!(hi - lo > 60, "contrast {lo}..{hi}");
        }
    }

    #[test]
    fn hsv_primaries() {
        assert_eq!(hsv(0.0, 1.0, 1.0), [255, 0, 0]);
        assert_eq!(hsv(120.0, 1.0, 1.0), [0, 255, 0]);
        assert_eq!(hsv(-120.0, 1.0, 1.0), [0, 0, 255]);
        assert_eq!(hsv(42.0, 0.0, 0.5), [128, 128, 128]);
    }
}
