//! Slider jigsaw captcha (向右拖动滑块填充拼图): drawing challenges and judging drag tracks.
//!
//! [`generate`] paints a fresh procedural picture and colours a jigsaw-shaped hole into it by
//! changing only its chroma (its grey image is untouched, so brightness and Canny edge solvers
//! find nothing), with a decoy of another silhouette and colour beside it when there is room. The
//! piece is drawn afresh in the hole's colour, not cut from the picture, so matching its border
//! against the picture fails too. See docs/captcha.md. The browser gets the two pictures and
//! the piece's y; the server keeps [`Challenge::answer_x`]. [`judge`] then checks the submitted x
//! and the drag track. No I/O happens here.

mod judge;
pub mod pow;
mod render;
mod scene;
mod shape;

pub use judge::{human_track, judge, InputKind, Rejection, TrackPoint, MAX_KEY_STEP_PX, MAX_POINTS, TOLERANCE_PX};

use rand::Rng;
use render::Tint;
use shape::{Mask, Shape};

/// Width of the background picture; the piece is drawn at the same scale.
pub const WIDTH: u32 = 320;
/// Height of the background picture.
pub const HEIGHT: u32 = 160;

/// Distance kept between a hole and the picture's border.
const BORDER: u32 = 2;
/// Room between the piece's start position (x = 0) and any hole.
const START_MARGIN: u32 = 16;
/// How vivid a hole's tint is (out of 256).
const TINT_STRENGTH: i32 = 120;
/// Horizontal gap between the real and the decoy hole.
const DECOY_GAP: u32 = 8;

/// One puzzle. Everything but `answer_x` goes to the browser.
#[derive(Clone, Debug)]
pub struct Challenge {
    /// `data:image/jpeg;base64,…`: the picture with the hole(s) drawn in.
    pub background: String,
    /// `data:image/png;base64,…`: RGBA, transparent outside the jigsaw outline.
    pub piece: String,
    /// Top of the piece image in background coordinates.
    pub piece_y: u32,
    pub piece_width: u32,
    pub piece_height: u32,
    /// Left of the piece image when it fits. Never sent to the browser: the server stores it.
    pub answer_x: u32,
    pub width: u32,
    pub height: u32,
}

/// A new challenge. Each call paints a different picture, outline and position.
pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Challenge {
    let parts = compose(rng);
    Challenge {
        background: render::jpeg_data_url(&parts.background, WIDTH, HEIGHT),
        piece: render::png_data_url(&parts.piece, parts.mask.width, parts.mask.height),
        piece_y: parts.piece_y,
        piece_width: parts.mask.width,
        piece_height: parts.mask.height,
        answer_x: parts.answer_x,
        width: WIDTH,
        height: HEIGHT,
    }
}

/// A challenge before encoding.
struct Parts {
    /// RGB, WIDTH x HEIGHT, holes drawn in.
    background: Vec<u8>,
    /// RGBA, `mask.width` x `mask.height`.
    piece: Vec<u8>,
    /// The one outline used for both the piece's alpha and the real hole.
    mask: Mask,
    answer_x: u32,
    piece_y: u32,
    /// The decoy's outline and top-left, kept for the tests' geometry checks.
    #[cfg_attr(not(test), allow(dead_code))]
    decoy: Option<(Mask, u32, u32)>,
}

fn compose<R: Rng + ?Sized>(rng: &mut R) -> Parts {
    let mut background = scene::paint(rng);
    let shape = Shape::random(rng);
    let mask = shape.mask();
    let lowest = mask.width + START_MARGIN;
    let answer_x = pick(rng, lowest, WIDTH.saturating_sub(mask.width + BORDER));
    let piece_y = pick(rng, BORDER, HEIGHT.saturating_sub(mask.height + BORDER));
    // Opposite the picture's own colour under the hole (give or take), so the patch stands out.
    let hue = scene::hue_around(&background, answer_x, piece_y, mask.width, mask.height) + 180.0 + rng.gen_range(-50.0..50.0f32);
    let tint = Tint::of_hue(hue, TINT_STRENGTH);
    render::tint_hole(&mut background, &mask, answer_x, piece_y, tint);
    let piece = render::render_piece(rng, &mask, tint);

    // A decoy of another silhouette and another colour wherever there is room: a solver that
    // looks for "a coloured jigsaw patch" has to tell them apart as a person does, by the piece.
    let decoy_mask = Shape::random_unlike(rng, &shape).mask();
    let decoy = decoy_x(rng, &decoy_mask, mask.width, answer_x).map(|x| {
        let y = pick(rng, BORDER, HEIGHT.saturating_sub(decoy_mask.height + BORDER));
        let offset = if rng.gen_bool(0.5) { 120.0 } else { -120.0 };
        render::tint_hole(&mut background, &decoy_mask, x, y, Tint::of_hue(hue + offset, TINT_STRENGTH));
        (decoy_mask, x, y)
    });
    Parts { background, piece, mask, answer_x, piece_y, decoy }
}

/// A left edge for the decoy, clear of the piece's start and of the real hole, if there is room.
fn decoy_x<R: Rng + ?Sized>(rng: &mut R, decoy: &Mask, piece_width: u32, answer_x: u32) -> Option<u32> {
    let fits = |lo: u32, hi: Option<u32>| hi.filter(|hi| *hi >= lo).map(|hi| (lo, hi));
    let left = fits(piece_width + START_MARGIN, answer_x.checked_sub(DECOY_GAP + decoy.width));
    let right = fits(answer_x + piece_width + DECOY_GAP, WIDTH.checked_sub(decoy.width + BORDER));
    let (lo, hi) = match (left, right) {
        (Some(l), Some(r)) => {
            if rng.gen_bool(0.5) {
                l
            } else {
                r
            }
        }
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => return None,
    };
    Some(pick(rng, lo, hi))
}

/// Uniform in lo..=hi, or lo when the range is empty.
fn pick<R: Rng + ?Sized>(rng: &mut R, lo: u32, hi: u32) -> u32 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use image::ImageFormat;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn decode(url: &str, prefix: &str, format: ImageFormat) -> image::DynamicImage {
        let b64 = url.strip_prefix(prefix).unwrap_or_default();
        let bytes = STANDARD.decode(b64).unwrap_or_default();
        match image::load_from_memory_with_format(&bytes, format) {
            Ok(img) => img,
            Err(e) => panic!("undecodable {prefix}: {e}"),
        }
    }

    #[test]
    fn piece_alpha_is_the_hole_mask() {
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let challenge = generate(&mut rng);
            let parts = compose(&mut StdRng::seed_from_u64(seed));
            assert_eq!(challenge.answer_x, parts.answer_x);
            let piece = decode(&challenge.piece, "data:image/png;base64,", ImageFormat::Png).to_rgba8();
            assert_eq!(piece.dimensions(), (challenge.piece_width, challenge.piece_height));
            let alpha: Vec<u8> = piece.pixels().map(|p| p.0[3]).collect();
            assert_eq!(alpha, parts.mask.alpha, "seed {seed}");
        }
    }

    /// Decoded as a browser (or a solver) would: the grey image shows no hole, the colour does.
    #[test]
    fn background_decodes_at_full_size_with_a_coloured_hole_and_no_grey_one() {
        for seed in 0..20 {
            let challenge = generate(&mut StdRng::seed_from_u64(seed));
            let parts = compose(&mut StdRng::seed_from_u64(seed));
            // Painting is the first thing compose does, so the same seed repaints the clean picture.
            let clean = scene::paint(&mut StdRng::seed_from_u64(seed));
            let bg = decode(&challenge.background, "data:image/jpeg;base64,", ImageFormat::Jpeg).to_rgb8();
            assert_eq!(bg.dimensions(), (WIDTH, HEIGHT));
            let grey = |p: [i64; 3]| (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
            let (mut luma_diff, mut chroma_diff, mut n) = (0i64, 0i64, 0i64);
            let inner = parts.mask.eroded().eroded().eroded();
            for (i, a) in inner.alpha.iter().enumerate() {
                if *a == 255 {
                    let x = parts.answer_x + i as u32 % parts.mask.width;
                    let y = parts.piece_y + i as u32 / parts.mask.width;
                    let got = bg.get_pixel(x, y).0.map(i64::from);
                    let j = (y as usize * WIDTH as usize + x as usize) * 3;
                    let was = [0, 1, 2].map(|c| i64::from(clean[j + c]));
                    let (gg, gw) = (grey(got), grey(was));
                    luma_diff += gg - gw;
                    chroma_diff += (0..3).map(|c| ((got[c] - gg) - (was[c] - gw)).abs()).sum::<i64>();
                    n += 1;
                }
            }
            assert!(n > 0 && luma_diff.abs() <= 2 * n, "mean luma shift {} over {n}", luma_diff as f64 / n as f64);
            assert!(chroma_diff >= 25 * n, "mean chroma shift {}", chroma_diff as f64 / n as f64);
        }
    }

    #[test]
    fn size_budget_holds() {
        let mut rng = StdRng::seed_from_u64(2024);
        let mut sizes: Vec<usize> = (0..300)
            .map(|_| {
                let c = generate(&mut rng);
                c.background.len() + c.piece.len()
            })
            .collect();
        sizes.sort_unstable();
        let (min, median, max) = (sizes[0], sizes[sizes.len() / 2], sizes[sizes.len() - 1]);
        println!("payload bytes (base64): min {min}, median {median}, max {max}");
        assert!(max <= 40_000, "max payload {max} bytes");
    }

    #[test]
    fn most_have_a_decoy_that_keeps_its_distance() {
        let mut rng = StdRng::seed_from_u64(77);
        let mut with_decoy = 0;
        for _ in 0..400 {
            let parts = compose(&mut rng);
            if let Some((decoy, x, y)) = &parts.decoy {
                with_decoy += 1;
                assert_ne!(decoy, &parts.mask);
                let (a, w) = (parts.answer_x, parts.mask.width);
                assert!(x + decoy.width + DECOY_GAP <= a || *x >= a + w + DECOY_GAP);
                assert!(*x >= w + START_MARGIN);
                assert!(x + decoy.width <= WIDTH && y + decoy.height <= HEIGHT);
            }
        }
        assert!(with_decoy >= 300, "{with_decoy} decoys in 400");
    }

    #[test]
    fn challenges_differ() {
        let mut rng = StdRng::seed_from_u64(8);
        let a = generate(&mut rng);
        let b = generate(&mut rng);
        assert_ne!(a.background, b.background);
        assert_ne!(a.piece, b.piece);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn geometry_stays_inside_and_clear_of_the_start(seed in any::<u64>()) {
            let parts = compose(&mut StdRng::seed_from_u64(seed));
            let (w, h) = (parts.mask.width, parts.mask.height);
            prop_assert!(parts.answer_x >= w + START_MARGIN);
            prop_assert!(parts.answer_x + w + BORDER <= WIDTH);
            prop_assert!(parts.piece_y >= BORDER && parts.piece_y + h + BORDER <= HEIGHT);
            prop_assert_eq!(parts.piece.len(), (w * h * 4) as usize);
            prop_assert_eq!(parts.background.len(), (WIDTH * HEIGHT * 3) as usize);
        }

        #[test]
        fn solving_with_a_human_track_passes(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let c = generate(&mut rng);
            let track = human_track(&mut rng, i64::from(c.answer_x));
            prop_assert_eq!(judge(c.answer_x, i64::from(c.answer_x), &track, InputKind::Pointer), Ok(()));
        }
    }
}
