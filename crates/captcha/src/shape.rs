//! Jigsaw outlines and their anti-aliased coverage masks.
//!
//! One [`Mask`] is computed per outline and used both to cut the piece (as its alpha) and to
//! carve the hole, so the two cannot drift apart.

use rand::Rng;

/// Side of the square body of a piece, in pixels.
pub(crate) const BODY: i32 = 44;
/// Room around the body for a tab (it sticks out at most 14 px) plus anti-aliasing.
const PAD: i32 = 16;
const FRAME: i32 = BODY + 2 * PAD;
/// Fixed point: coordinates are in eighths of a pixel; a pixel is sampled 4x4 at odd eighths.
const SUB: i32 = 8;
const SAMPLES: usize = 4;
const CORNER: i32 = 4 * SUB;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Edge {
    Flat,
    Tab,
    Blank,
}

#[derive(Clone, Copy, Debug)]
struct Side {
    edge: Edge,
    /// Shift of the knob along the side from its middle, in eighths of a pixel.
    offset: i32,
    /// Knob radius, in eighths of a pixel.
    radius: i32,
    /// How far the knob's centre lies beyond (tab) or inside (blank) the side.
    depth: i32,
}

/// A jigsaw outline: a rounded square whose sides (top, right, bottom, left) each carry a tab, a
/// blank or nothing.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    sides: [Side; 4],
}

/// Tab circles and blank circles, per side.
type Knobs = ([Option<Circle>; 4], [Option<Circle>; 4]);

/// A knob circle in frame coordinates (eighths of a pixel).
#[derive(Clone, Copy)]
struct Circle {
    cx: i32,
    cy: i32,
    r: i32,
}

impl Circle {
    fn classify(self, x: i32, y: i32, margin: i32) -> Option<bool> {
        let (dx, dy) = (x - self.cx, y - self.cy);
        within(dx * dx + dy * dy, self.r, margin)
    }
}

/// Whether every point within `margin` of a point at squared distance `d2` from a centre lies
/// within `r` of it (Some(true)), none does (Some(false)), or it depends (None). With a zero
/// margin this is the plain point test and never None.
fn within(d2: i32, r: i32, margin: i32) -> Option<bool> {
    let inner = (r - margin).max(0);
    if d2 <= inner * inner && r >= margin {
        Some(true)
    } else if d2 >= (r + margin) * (r + margin) {
        Some(false)
    } else {
        None
    }
}

/// Three-valued "any": true if one is surely true, false if all are surely false.
fn any_of(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut all_false = true;
    for v in values {
        match v {
            Some(true) => return Some(true),
            Some(false) => {}
            None => all_false = false,
        }
    }
    all_false.then_some(false)
}

impl Shape {
    /// A random outline with at least two non-flat sides.
    pub(crate) fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let shape = Shape { sides: [0; 4].map(|_| random_side(rng)) };
            if shape.edges().iter().filter(|e| **e != Edge::Flat).count() >= 2 {
                return shape;
            }
        }
    }

    /// A random outline whose sides differ from `other` on at least two sides, so a decoy hole
    /// never has the real piece's silhouette.
    pub(crate) fn random_unlike<R: Rng + ?Sized>(rng: &mut R, other: &Shape) -> Self {
        loop {
            let shape = Shape::random(rng);
            let differing = shape.edges().iter().zip(other.edges()).filter(|(a, b)| **a != *b).count();
            if differing >= 2 {
                return shape;
            }
        }
    }

    pub(crate) fn edges(&self) -> [Edge; 4] {
        self.sides.map(|s| s.edge)
    }

    fn knobs(&self) -> Knobs {
        let lo = PAD * SUB;
        let hi = (PAD + BODY) * SUB;
        let mid = (PAD + BODY / 2) * SUB;
        let mut tabs = [None; 4];
        let mut blanks = [None; 4];
        for (i, side) in self.sides.iter().enumerate() {
            let out = match side.edge {
                Edge::Flat => continue,
                Edge::Tab => side.depth,
                Edge::Blank => -side.depth,
            };
            let along = mid + side.offset;
            let (cx, cy) = match i {
                0 => (along, lo - out),
                1 => (hi + out, along),
                2 => (along, hi + out),
                _ => (lo - out, along),
            };
            let circle = Circle { cx, cy, r: side.radius };
            if side.edge == Edge::Tab {
                tabs[i] = Some(circle);
            } else {
                blanks[i] = Some(circle);
            }
        }
        (tabs, blanks)
    }

    /// Whether all points within `margin` of (x, y) are inside the outline (Some(true)), all
    /// outside (Some(false)), or it depends (None). Union of body and tabs, minus the blanks.
    fn classify(&self, knobs: &Knobs, x: i32, y: i32, margin: i32) -> Option<bool> {
        let lo = PAD * SUB;
        let hi = (PAD + BODY) * SUB;
        // The rounded body is everything within CORNER of its corner-less inner rectangle.
        let dx = (lo + CORNER - x).max(x - (hi - CORNER)).max(0);
        let dy = (lo + CORNER - y).max(y - (hi - CORNER)).max(0);
        let body = within(dx * dx + dy * dy, CORNER, margin);
        let (tabs, blanks) = knobs;
        let solid = any_of(std::iter::once(body).chain(tabs.iter().flatten().map(|c| c.classify(x, y, margin))));
        let cut = any_of(blanks.iter().flatten().map(|c| c.classify(x, y, margin)));
        match (solid, cut) {
            (_, Some(true)) | (Some(false), _) => Some(false),
            (Some(true), Some(false)) => Some(true),
            _ => None,
        }
    }

    /// Coverage mask cropped to the outline's bounding box.
    pub(crate) fn mask(&self) -> Mask {
        self.mask_with(true)
    }

    /// `shortcut` classifies whole pixels far from the outline at once; without it every pixel is
    /// sampled (the tests compare the two).
    fn mask_with(&self, shortcut: bool) -> Mask {
        let knobs = self.knobs();
        let frame = FRAME as usize;
        let mut full = vec![0u8; frame * frame];
        let (mut x0, mut y0, mut x1, mut y1) = (frame, frame, 0, 0);
        // Samples lie within 3/8 px of a pixel's centre on each axis, so within 6/8 px in all.
        const REACH: i32 = 6;
        for py in 0..frame {
            for px in 0..frame {
                let (cx, cy) = (px as i32 * SUB + SUB / 2, py as i32 * SUB + SUB / 2);
                // Only pixels near the outline need all sixteen samples.
                let class = if shortcut { self.classify(&knobs, cx, cy, REACH) } else { None };
                let alpha = match class {
                    Some(inside) => u8::from(inside) * 255,
                    None => {
                        let mut hits = 0u32;
                        for sy in 0..SAMPLES as i32 {
                            for sx in 0..SAMPLES as i32 {
                                let (x, y) = (px as i32 * SUB + 1 + 2 * sx, py as i32 * SUB + 1 + 2 * sy);
                                hits += u32::from(self.classify(&knobs, x, y, 0) == Some(true));
                            }
                        }
                        (hits * 255 / (SAMPLES * SAMPLES) as u32) as u8
                    }
                };
                if alpha > 0 {
                    full[py * frame + px] = alpha;
                    x0 = x0.min(px);
                    y0 = y0.min(py);
                    x1 = x1.max(px + 1);
                    y1 = y1.max(py + 1);
                }
            }
        }
        // The body alone is never empty, so the box is too; the guard only keeps this total.
        if x1 <= x0 || y1 <= y0 {
            return Mask { width: 0, height: 0, alpha: Vec::new() };
        }
        let alpha = (y0..y1).flat_map(|y| full[y * frame + x0..y * frame + x1].iter().copied()).collect();
        Mask { width: (x1 - x0) as u32, height: (y1 - y0) as u32, alpha }
    }
}

fn random_side<R: Rng + ?Sized>(rng: &mut R) -> Side {
    let edge = match rng.gen_range(0..10) {
        0..=3 => Edge::Tab,
        4..=7 => Edge::Blank,
        _ => Edge::Flat,
    };
    let radius = rng.gen_range(6 * SUB..=8 * SUB);
    Side {
        edge,
        offset: rng.gen_range(-3 * SUB..=3 * SUB),
        radius,
        // Centre 1.5-2.5 px short of a full radius out: a neck narrower than the head.
        depth: radius - rng.gen_range(3 * SUB / 2..=5 * SUB / 2),
    }
}

/// Anti-aliased coverage (0 = outside, 255 = inside) of a jigsaw outline, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mask {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) alpha: Vec<u8>,
}

impl Mask {
    /// Coverage at (x, y); zero outside the mask.
    pub(crate) fn at(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return 0;
        }
        let i = y as usize * self.width as usize + x as usize;
        self.alpha.get(i).copied().unwrap_or(0)
    }

    /// The mask shrunk by one pixel (3x3 minimum); `mask - eroded` is its outermost ring.
    pub(crate) fn eroded(&self) -> Mask {
        let mut alpha = vec![0u8; self.alpha.len()];
        for y in 0..i64::from(self.height) {
            for x in 0..i64::from(self.width) {
                let mut m = u8::MAX;
                for (dx, dy) in NEIGHBOURS {
                    m = m.min(self.at(x + dx, y + dy));
                }
                alpha[y as usize * self.width as usize + x as usize] = m;
            }
        }
        Mask { width: self.width, height: self.height, alpha }
    }
}

const NEIGHBOURS: [(i64, i64); 9] = [(-1, -1), (0, -1), (1, -1), (-1, 0), (0, 0), (1, 0), (-1, 1), (0, 1), (1, 1)];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn mask_fits_the_frame_and_covers_the_body() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let mask = Shape::random(&mut rng).mask();
            // A pixel of padding stays free on each side: the frame really holds the tabs.
            assert!(mask.width >= BODY as u32 && mask.width <= FRAME as u32 - 2);
            assert!(mask.height >= BODY as u32 && mask.height <= FRAME as u32 - 2);
            assert_eq!(mask.alpha.len(), (mask.width * mask.height) as usize);
            let full = mask.alpha.iter().filter(|a| **a == 255).count();
            assert!(full > 1200, "body mostly solid, got {full}");
        }
    }

    #[test]
    fn flat_sides_are_straight_and_tabs_stick_out() {
        let flat = Side { edge: Edge::Flat, offset: 0, radius: 7 * SUB, depth: 5 * SUB };
        let tab = Side { edge: Edge::Tab, ..flat };
        let blank = Side { edge: Edge::Blank, ..flat };
        let plain = Shape { sides: [flat; 4] }.mask();
        assert_eq!((plain.width, plain.height), (BODY as u32, BODY as u32));
        let tabbed = Shape { sides: [tab, flat, flat, flat] }.mask();
        assert_eq!(tabbed.width, BODY as u32);
        assert_eq!(tabbed.height, (BODY + 12) as u32);
        let notched = Shape { sides: [blank, flat, flat, flat] }.mask();
        assert_eq!((notched.width, notched.height), (BODY as u32, BODY as u32));
        // The blank's mouth is open at the top middle, the corners of the body are not.
        assert_eq!(notched.at(22, 0), 0);
        assert_eq!(notched.at(22, 8), 0);
        assert_eq!(notched.at(10, 2), 255);
    }

    #[test]
    fn decoys_differ_on_two_sides() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let a = Shape::random(&mut rng);
            let b = Shape::random_unlike(&mut rng, &a);
            let diff = a.edges().iter().zip(b.edges()).filter(|(x, y)| **x != *y).count();
            assert!(diff >= 2);
            assert_ne!(a.mask(), b.mask());
        }
    }

    #[test]
    fn the_shortcut_changes_no_pixel() {
        let mut rng = StdRng::seed_from_u64(4);
        for _ in 0..300 {
            let shape = Shape::random(&mut rng);
            assert_eq!(shape.mask_with(true), shape.mask_with(false), "{shape:?}");
        }
    }

    #[test]
    fn erosion_peels_the_outer_ring() {
        let mask = Mask { width: 4, height: 3, alpha: vec![255; 12] };
        let e = mask.eroded();
        assert_eq!(e.alpha, vec![0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn shapes_keep_two_non_flat_sides(seed in any::<u64>()) {
            let shape = Shape::random(&mut StdRng::seed_from_u64(seed));
            prop_assert!(shape.edges().iter().filter(|e| **e != Edge::Flat).count() >= 2);
        }

        #[test]
        fn mask_reads_outside_are_zero(x in any::<i64>(), y in any::<i64>()) {
            let mask = Shape::random(&mut StdRng::seed_from_u64(1)).mask();
            let inside = x >= 0 && y >= 0 && x < i64::from(mask.width) && y < i64::from(mask.height);
            if !inside {
                prop_assert_eq!(mask.at(x, y), 0);
            }
        }
    }
}
