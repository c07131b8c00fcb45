//! Judging an answer: the position must fit and the drag track must look like a person made it.
//!
//! Everything here takes untrusted input straight from the request body, so every step is total:
//! bounds are checked before arithmetic, and the arithmetic saturates anyway.

use crate::{HEIGHT, WIDTH};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How far (in background pixels) the submitted position may be from the answer: about 2 % of
/// the width.
pub const TOLERANCE_PX: i64 = 6;
/// More points than this is not a drag but a flood.
pub const MAX_POINTS: usize = 1000;
/// The largest step a key press may move the piece.
pub const MAX_KEY_STEP_PX: i64 = 10;

const MAX_START_MS: i64 = 50;
const MIN_DURATION_MS: i64 = 300;
/// A challenge lives two minutes; a longer track is made up.
const MAX_DURATION_MS: i64 = 120_000;
const MIN_POINTER_POINTS: usize = 8;
const MIN_KEYBOARD_POINTS: usize = 3;
/// The first point must be this close to the origin, the last this close to the submitted x.
const SLACK_PX: i64 = 3;
/// A pointer step this long is fine however little time it took: samples of one frame may carry
/// (nearly) the same time stamp.
const MAX_POINTER_STEP_PX: i64 = 50;
/// Beyond [`MAX_POINTER_STEP_PX`], a step is a jump when it is faster than a hand moves: 5 px/ms
/// crosses the whole picture in 64 ms. How far a pointer moves between two samples depends on
/// how often the device (and the page, which thins samples) reports it, so a longer step is
/// judged by its speed, not by its length: a fast drag sampled at 30-60 Hz, or one whose page
/// skipped a sample, moves 50-70 px between samples at 2-4 px/ms.
const MAX_POINTER_PX_PER_MS: i64 = 5;
/// Faster than any keyboard's auto-repeat.
const MIN_KEY_INTERVAL_MS: i64 = 15;

/// One sample of the drag: `t` in ms since the drag started, `x`/`y` in background pixels
/// relative to where it started.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackPoint {
    pub t: i64,
    pub x: i64,
    pub y: i64,
}

/// What produced the track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Mouse, pen or touch drag.
    #[default]
    Pointer,
    /// Arrow keys on the focused slider handle.
    Keyboard,
}

/// Why an answer was refused. For logs and metrics only: the applicant is only told it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The piece is not where the hole is.
    WrongPosition,
    /// Under 300 ms overall, or key presses faster than auto-repeat.
    TooFast,
    TooFewPoints,
    /// The track does not start at the origin right when the drag starts.
    BadStart,
    /// A pointer track that never moves vertically.
    NoJitter,
    /// A pointer step longer and faster than a hand moves, or a key press moving too far.
    Jump,
    /// A pointer track that does not slow down towards the end.
    NoDeceleration,
    /// Too many points, time running backwards or out of range, coordinates off the picture.
    Malformed,
    /// The track does not end where the submitted position is.
    EndMismatch,
}

impl Rejection {
    /// A stable snake_case label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::WrongPosition => "wrong_position",
            Rejection::TooFast => "too_fast",
            Rejection::TooFewPoints => "too_few_points",
            Rejection::BadStart => "bad_start",
            Rejection::NoJitter => "no_jitter",
            Rejection::Jump => "jump",
            Rejection::NoDeceleration => "no_deceleration",
            Rejection::Malformed => "malformed",
            Rejection::EndMismatch => "end_mismatch",
        }
    }
}

/// Accepts the answer when `submitted_x` is within [`TOLERANCE_PX`] of `answer_x` and `track`
/// looks like a human drag (or human key presses) ending there.
pub fn judge(answer_x: u32, submitted_x: i64, track: &[TrackPoint], input: InputKind) -> Result<(), Rejection> {
    if track.len() > MAX_POINTS || !well_formed(track) {
        return Err(Rejection::Malformed);
    }
    if i64::from(answer_x).abs_diff(submitted_x) > TOLERANCE_PX.unsigned_abs() {
        return Err(Rejection::WrongPosition);
    }
    let (Some(first), Some(last)) = (track.first(), track.last()) else {
        return Err(Rejection::TooFewPoints);
    };
    if last.x.abs_diff(submitted_x) > SLACK_PX.unsigned_abs() {
        return Err(Rejection::EndMismatch);
    }
    let min_points = match input {
        InputKind::Pointer => MIN_POINTER_POINTS,
        InputKind::Keyboard => MIN_KEYBOARD_POINTS,
    };
    if track.len() < min_points {
        return Err(Rejection::TooFewPoints);
    }
    if first.t > MAX_START_MS || first.x.unsigned_abs() > SLACK_PX.unsigned_abs() || first.y.unsigned_abs() > SLACK_PX.unsigned_abs() {
        return Err(Rejection::BadStart);
    }
    if last.t.saturating_sub(first.t) < MIN_DURATION_MS {
        return Err(Rejection::TooFast);
    }
    match input {
        InputKind::Pointer => judge_pointer(track),
        InputKind::Keyboard => judge_keyboard(track),
    }
}

/// Time starts at 0 and never runs backwards or past the challenge's lifetime; points stay in a
/// band around the picture. After this, every value is small and the arithmetic is plain.
fn well_formed(track: &[TrackPoint]) -> bool {
    let x_band = -i64::from(WIDTH)..=2 * i64::from(WIDTH);
    let y_band = -i64::from(HEIGHT)..=i64::from(HEIGHT);
    let in_range = track.iter().all(|p| (0..=MAX_DURATION_MS).contains(&p.t) && x_band.contains(&p.x) && y_band.contains(&p.y));
    in_range && track.windows(2).all(|w| w[0].t <= w[1].t)
}

fn steps(track: &[TrackPoint]) -> impl Iterator<Item = (TrackPoint, TrackPoint)> + '_ {
    track.windows(2).map(|w| (w[0], w[1]))
}

/// A step longer than [`MAX_POINTER_STEP_PX`] and faster than [`MAX_POINTER_PX_PER_MS`]: a
/// teleport, not a drag sampled sparsely.
fn pointer_jump(a: TrackPoint, b: TrackPoint) -> bool {
    let distance = a.x.abs_diff(b.x);
    let elapsed = b.t.saturating_sub(a.t).max(0).unsigned_abs();
    distance > MAX_POINTER_STEP_PX.unsigned_abs() && distance > elapsed.saturating_mul(MAX_POINTER_PX_PER_MS.unsigned_abs())
}

fn judge_pointer(track: &[TrackPoint]) -> Result<(), Rejection> {
    if steps(track).any(|(a, b)| pointer_jump(a, b)) {
        return Err(Rejection::Jump);
    }
    let y0 = track.first().map_or(0, |p| p.y);
    if track.iter().all(|p| p.y == y0) {
        return Err(Rejection::NoJitter);
    }
    if !decelerates(track) {
        return Err(Rejection::NoDeceleration);
    }
    Ok(())
}

fn judge_keyboard(track: &[TrackPoint]) -> Result<(), Rejection> {
    if steps(track).any(|(a, b)| a.x.abs_diff(b.x) > MAX_KEY_STEP_PX.unsigned_abs()) {
        return Err(Rejection::Jump);
    }
    // The first point marks the origin at the first key press, which moves the piece at once;
    // the interval rule applies between presses.
    if steps(track).skip(1).any(|(a, b)| b.t.saturating_sub(a.t) < MIN_KEY_INTERVAL_MS) {
        return Err(Rejection::TooFast);
    }
    Ok(())
}

/// Whether the mean speed over the last third of the distance is clearly lower (under 4/5) than
/// over the first two thirds; the margin keeps a steady robot from passing on rounding alone.
/// Speeds are measured by distance, not by point count, so uneven sampling does not matter: the
/// time two thirds are covered is interpolated between samples. The clock starts when the piece
/// starts moving, so a hesitation before the drag is not held against it.
///
/// With D the distance, T0 the start, T the time two thirds are covered, T1 the end and r = n/d:
/// (D/3) / (T1 - T) < r · (2D/3) / (T - T0)  ⇔  d·(T - T0) < 2n·(T1 - T)
/// ⇔  (d + 2n)·T < d·T0 + 2n·T1, free of any division.
fn decelerates(track: &[TrackPoint]) -> bool {
    const N: i64 = 4;
    const D: i64 = 5;
    let (Some(first), Some(last)) = (track.first(), track.last()) else {
        return false;
    };
    let distance = last.x.saturating_sub(first.x);
    if distance <= 0 {
        return false;
    }
    let start = track.iter().take_while(|p| p.x <= first.x).last().map_or(first.t, |p| p.t);
    // In thirds of a pixel, so the goal is an integer.
    let goal = first.x.saturating_mul(3).saturating_add(distance.saturating_mul(2));
    let Some((a, b)) = steps(track).find(|(_, b)| b.x.saturating_mul(3) >= goal) else {
        return false;
    };
    // a is short of the goal (the first point always is), so span > 0.
    let span = b.x.saturating_sub(a.x).saturating_mul(3);
    let covered = goal.saturating_sub(a.x.saturating_mul(3));
    if span <= 0 {
        return false;
    }
    // T = a.t + (b.t - a.t) · covered / span; both sides are multiplied by span.
    let t_span = a.t.saturating_mul(span).saturating_add(b.t.saturating_sub(a.t).saturating_mul(covered));
    let lhs = t_span.saturating_mul(D + 2 * N);
    let rhs = start.saturating_mul(D).saturating_add(last.t.saturating_mul(2 * N)).saturating_mul(span);
    lhs < rhs
}

/// Test support: a plausible human drag from the origin to `target_x`, lasting 600-1200 ms with
/// 20-60 unevenly spaced points, easing out, with a little jitter, ending exactly at `target_x`.
/// [`judge`] accepts it (as a pointer track) for any target inside the picture. The service's API
/// tests use it to solve captchas.
pub fn human_track<R: Rng + ?Sized>(rng: &mut R, target_x: i64) -> Vec<TrackPoint> {
    let distance = target_x.clamp(-2 * i64::from(WIDTH), 2 * i64::from(WIDTH));
    let duration = rng.gen_range(600..=1200i64);
    // Ease-out 1-(1-u)^p starts at about p·D/n per step: keep that well under the jump limit.
    let power = rng.gen_range(2.0..3.0f64);
    let needed = (power * distance.unsigned_abs() as f64 / 35.0).ceil() as usize;
    let n = rng.gen_range(needed.clamp(20, 60)..=60);
    let mut track = Vec::with_capacity(n);
    let (mut t, mut y) = (0i64, 0i64);
    let dt = duration as f64 / (n - 1) as f64;
    for i in 0..n {
        let u = i as f64 / (n - 1) as f64;
        if i > 0 {
            // Uneven sampling, but never backwards and landing on the duration at the end.
            let next = (dt * i as f64 + rng.gen_range(-0.4..0.4) * dt) as i64;
            t = if i == n - 1 { duration } else { next.clamp(t, duration) };
            y = (y + rng.gen_range(-1..=1)).clamp(-4, 4);
        }
        let eased = 1.0 - (1.0 - u).powf(power);
        let jitter = if i > 0 && i < n - 1 { rng.gen_range(-1..=1) } else { 0 };
        let x = if i == n - 1 { target_x } else { (distance as f64 * eased).round() as i64 + jitter };
        track.push(TrackPoint { t, x, y });
    }
    // A hand never holds perfectly level.
    if track.iter().all(|p| p.y == 0) {
        if let Some(p) = track.get_mut(n / 2) {
            p.y = 1;
        }
    }
    track
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const ANSWER: u32 = 200;

    fn human(seed: u64) -> Vec<TrackPoint> {
        human_track(&mut StdRng::seed_from_u64(seed), i64::from(ANSWER))
    }

    fn pointer(track: &[TrackPoint], x: i64) -> Result<(), Rejection> {
        judge(ANSWER, x, track, InputKind::Pointer)
    }

    /// A track along `x(u)` for u in 0..=1 with `n` evenly spaced points over `ms`.
    fn along(n: i64, ms: i64, jitter: bool, x: impl Fn(f64) -> f64) -> Vec<TrackPoint> {
        (0..n)
            .map(|i| TrackPoint {
                t: ms * i / (n - 1),
                x: x(i as f64 / (n - 1) as f64).round() as i64,
                y: if jitter { [0, 1, 0, -1][i as usize % 4] } else { 0 },
            })
            .collect()
    }

    fn keys(step: i64, every_ms: i64, presses: i64) -> Vec<TrackPoint> {
        (0..=presses).map(|i| TrackPoint { t: if i == 0 { 0 } else { (i - 1) * every_ms }, x: i * step, y: 0 }).collect()
    }

    #[test]
    fn human_tracks_pass() {
        for seed in 0..200 {
            let track = human(seed);
            assert_eq!(pointer(&track, 200), Ok(()), "seed {seed}: {track:?}");
            assert_eq!(pointer(&track, 203), Ok(()), "within tolerance");
        }
    }

    #[test]
    fn human_tracks_have_the_promised_shape() {
        let mut rng = StdRng::seed_from_u64(9);
        for target in [107, 150, 200, 276] {
            let track = human_track(&mut rng, target);
            assert!((20..=60).contains(&track.len()));
            let last = track.last().copied().unwrap_or(TrackPoint { t: 0, x: 0, y: 0 });
            assert_eq!(last.x, target);
            assert!((600..=1200).contains(&last.t));
            assert_eq!(track[0], TrackPoint { t: 0, x: 0, y: 0 });
        }
    }

    #[test]
    fn wrong_position_is_rejected() {
        let track = human_track(&mut StdRng::seed_from_u64(1), 230);
        assert_eq!(pointer(&track, 230), Err(Rejection::WrongPosition));
        assert_eq!(pointer(&human(1), 207), Err(Rejection::WrongPosition));
        assert_eq!(pointer(&human(1), i64::MIN), Err(Rejection::WrongPosition));
    }

    #[test]
    fn a_two_point_track_is_too_few() {
        let track = [TrackPoint { t: 0, x: 0, y: 0 }, TrackPoint { t: 700, x: 200, y: 2 }];
        assert_eq!(pointer(&track, 200), Err(Rejection::TooFewPoints));
        assert_eq!(pointer(&[], 200), Err(Rejection::TooFewPoints));
    }

    #[test]
    fn a_quick_flick_is_too_fast() {
        let track = along(20, 250, true, |u| 200.0 * (1.0 - (1.0 - u).powi(3)));
        assert_eq!(pointer(&track, 200), Err(Rejection::TooFast));
    }

    #[test]
    fn a_level_constant_speed_robot_has_no_jitter() {
        let track = along(30, 800, false, |u| 200.0 * u);
        assert_eq!(pointer(&track, 200), Err(Rejection::NoJitter));
    }

    #[test]
    fn a_teleport_is_a_jump() {
        let mut track = human(2);
        let mid = track.len() / 2;
        track[mid].x += 60;
        assert_eq!(pointer(&track, 200), Err(Rejection::Jump));
    }

    fn points(raw: &[(i64, i64, i64)]) -> Vec<TrackPoint> {
        raw.iter().map(|&(t, x, y)| TrackPoint { t, x, y }).collect()
    }

    /// ABUSE-4: tracks Chromium's page sent for 20-step eased drags to the hole, where the page
    /// thinned out a sample 5 ms after the one before it: the next step covers two (53 px in
    /// 24 ms, 56 px in 22 ms: 2.2-2.5 px/ms, an ordinary speed).
    #[test]
    #[rustfmt::skip]
    fn a_fast_drag_with_a_skipped_sample_is_no_jump() {
        let at_360 = points(&[
            (0, 0, 0), (56, 35, -1), (69, 66, 1), (93, 119, -2), (109, 140, 1), (127, 160, -1), (142, 176, 1),
            (162, 191, -1), (177, 203, -1), (199, 213, -1), (213, 221, 2), (227, 227, 2), (243, 233, 0),
            (270, 236, -1), (282, 239, 2), (292, 241, 0), (311, 242, 0), (325, 243, 0), (346, 243, -2),
            (365, 243, 0), (494, 243, 0),
        ]);
        assert_eq!(judge(243, 243, &at_360, InputKind::Pointer), Ok(()));
        let at_1280 = points(&[
            (0, 0, 0), (80, 37, 1), (93, 69, 2), (115, 125, 1), (131, 148, -1), (148, 168, 0), (165, 186, -1),
            (182, 201, 0), (199, 213, 1), (218, 224, 1), (230, 233, -2), (246, 240, 0), (263, 245, -2),
            (280, 249, -1), (297, 252, -1), (317, 254, -2), (334, 255, 0), (349, 256, -1), (364, 256, -1),
            (382, 256, 0), (453, 256, 0),
        ]);
        assert_eq!(judge(256, 256, &at_1280, InputKind::Pointer), Ok(()));
    }

    /// The same drag at any x: 20 frames of an ease-out, any one sample of the first half missing.
    #[test]
    fn a_skipped_sample_passes_anywhere_in_the_picture() {
        for target in (40..=280).step_by(4) {
            let full = along(21, 340, true, |u| target as f64 * (1.0 - (1.0 - u).powi(3)));
            for skip in 1..10 {
                let mut track = full.clone();
                track.remove(skip);
                assert_eq!(judge(target as u32, target, &track, InputKind::Pointer), Ok(()), "x {target}, sample {skip} skipped");
            }
        }
    }

    /// A device that reports a fast drag at 30 Hz moves the pointer up to 2.6 px/ms · 33 ms.
    #[test]
    fn a_sparsely_sampled_fast_drag_passes() {
        let track = along(12, 363, true, |u| 276.0 * (1.0 - (1.0 - u).powi(3)));
        assert!(steps(&track).any(|(a, b)| b.x - a.x > MAX_POINTER_STEP_PX), "{track:?}");
        assert_eq!(judge(276, 276, &track, InputKind::Pointer), Ok(()));
    }

    /// Faster than a hand beyond 50 px is still a jump, and so is anything beyond 50 px at once.
    #[test]
    fn a_step_faster_than_a_hand_is_a_jump() {
        let mut track = human(6);
        let mid = track.len() / 2;
        let (a, b) = (track[mid - 1], track[mid]);
        let elapsed = b.t - a.t;
        // Pushing the rest of the track 5 px/ms · elapsed + 1 further makes that step too fast.
        let shift = (MAX_POINTER_STEP_PX + 1).max(MAX_POINTER_PX_PER_MS * elapsed + 1) - (b.x - a.x);
        for p in &mut track[mid..] {
            p.x += shift;
        }
        let end = 200 + shift;
        assert_eq!(judge(end as u32, end, &track, InputKind::Pointer), Err(Rejection::Jump));
        let at_once =
            points(&[(0, 0, 0), (100, 10, 1), (200, 20, 0), (300, 30, 1), (300, 120, 0), (400, 150, 1), (500, 160, 0), (700, 170, 1)]);
        assert_eq!(judge(170, 170, &at_once, InputKind::Pointer), Err(Rejection::Jump));
        assert!(pointer_jump(TrackPoint { t: 0, x: 0, y: 0 }, TrackPoint { t: 10, x: 51, y: 0 }));
        assert!(!pointer_jump(TrackPoint { t: 0, x: 0, y: 0 }, TrackPoint { t: 11, x: 55, y: 0 }));
        assert!(!pointer_jump(TrackPoint { t: 0, x: 0, y: 0 }, TrackPoint { t: 0, x: 50, y: 0 }));
        assert!(pointer_jump(TrackPoint { t: 0, x: 200, y: 0 }, TrackPoint { t: 0, x: 149, y: 0 }));
        assert!(pointer_jump(TrackPoint { t: i64::MAX, x: i64::MIN, y: 0 }, TrackPoint { t: i64::MIN, x: i64::MAX, y: 0 }));
    }

    #[test]
    fn starting_mid_way_is_a_bad_start() {
        let track = along(30, 800, true, |u| 100.0 + 100.0 * (1.0 - (1.0 - u).powi(3)));
        assert_eq!(pointer(&track, 200), Err(Rejection::BadStart));
        let mut late = human(3);
        for p in &mut late {
            p.t += 60;
        }
        assert_eq!(pointer(&late, 200), Err(Rejection::BadStart));
    }

    #[test]
    fn accelerating_to_the_end_is_not_human() {
        let track = along(30, 800, true, |u| 200.0 * u * u);
        assert_eq!(pointer(&track, 200), Err(Rejection::NoDeceleration));
        let steady = along(30, 800, true, |u| 200.0 * u);
        assert_eq!(pointer(&steady, 200), Err(Rejection::NoDeceleration));
    }

    #[test]
    fn a_pause_before_moving_is_forgiven() {
        let mut track = vec![TrackPoint { t: 0, x: 0, y: 0 }];
        track.extend(along(30, 700, true, |u| 200.0 * (1.0 - (1.0 - u).powi(2))).iter().map(|p| TrackPoint { t: p.t + 600, ..*p }));
        assert_eq!(pointer(&track, 200), Ok(()));
    }

    #[test]
    fn uneven_sampling_does_not_matter() {
        // Sparse samples early, dense late: the speeds are still judged by distance.
        let mut track = along(8, 300, true, |u| 150.0 * u);
        track.extend(along(40, 900, true, |u| 50.0 * u).iter().skip(1).map(|p| TrackPoint { t: p.t + 300, x: p.x + 150, y: p.y }));
        assert_eq!(pointer(&track, 200), Ok(()));
    }

    #[test]
    fn the_end_must_match_the_submission() {
        assert_eq!(pointer(&human(4), 196), Err(Rejection::EndMismatch));
    }

    #[test]
    fn malformed_tracks() {
        let good = human(5);
        let mut backwards = good.clone();
        backwards[3].t = backwards[4].t + 1;
        assert_eq!(pointer(&backwards, 200), Err(Rejection::Malformed));
        let mut flood = good.clone();
        flood.resize(MAX_POINTS + 1, good[0]);
        assert_eq!(pointer(&flood, 200), Err(Rejection::Malformed));
        let mut wild = good.clone();
        wild[5].y = i64::from(HEIGHT) + 1;
        assert_eq!(pointer(&wild, 200), Err(Rejection::Malformed));
        let mut negative = good;
        negative[0].t = -1;
        assert_eq!(pointer(&negative, 200), Err(Rejection::Malformed));
    }

    #[test]
    fn keyboard_tracks() {
        let ok = keys(4, 60, 50);
        assert_eq!(judge(ANSWER, 200, &ok, InputKind::Keyboard), Ok(()));
        // Level keyboard tracks are fine; the same track is no pointer drag.
        assert_eq!(judge(ANSWER, 200, &ok, InputKind::Pointer), Err(Rejection::NoJitter));
        let shifted = keys(10, 80, 20);
        assert_eq!(judge(ANSWER, 200, &shifted, InputKind::Keyboard), Ok(()));
        let big = keys(20, 100, 10);
        assert_eq!(judge(ANSWER, 200, &big, InputKind::Keyboard), Err(Rejection::Jump));
        let scripted = keys(4, 10, 50);
        assert_eq!(judge(ANSWER, 200, &scripted, InputKind::Keyboard), Err(Rejection::TooFast));
        let hurried = keys(10, 16, 20);
        assert_eq!(judge(ANSWER, 200, &hurried, InputKind::Keyboard), Ok(()));
        let short = keys(10, 80, 1);
        assert_eq!(judge(10, 10, &short, InputKind::Keyboard), Err(Rejection::TooFewPoints));
    }

    #[test]
    fn labels_are_snake_case() {
        assert_eq!(Rejection::NoDeceleration.as_str(), "no_deceleration");
        assert_eq!(Rejection::EndMismatch.as_str(), "end_mismatch");
    }

    #[test]
    fn deserialises_the_wire_format() {
        // serde_json is no dependency here; a value deserializer exercises the same derive.
        use serde::de::value::{Error, MapDeserializer};
        let fields = [("t", 1i64), ("x", 2), ("y", -3)];
        let point = TrackPoint::deserialize(MapDeserializer::<_, Error>::new(fields.into_iter()));
        assert_eq!(point.ok(), Some(TrackPoint { t: 1, x: 2, y: -3 }));
        let kind = InputKind::deserialize(serde::de::value::StrDeserializer::<Error>::new("keyboard"));
        assert_eq!(kind.ok(), Some(InputKind::Keyboard));
    }

    fn point() -> impl Strategy<Value = TrackPoint> {
        let wide = prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -400i64..800];
        (wide.clone(), wide.clone(), wide).prop_map(|(t, x, y)| TrackPoint { t, x, y })
    }

    proptest! {
        #[test]
        fn judge_is_total(
            answer in any::<u32>(),
            submitted in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX)],
            track in proptest::collection::vec(point(), 0..40),
            keyboard in any::<bool>(),
        ) {
            let input = if keyboard { InputKind::Keyboard } else { InputKind::Pointer };
            let _ = judge(answer, submitted, &track, input);
        }

        #[test]
        fn plausible_values_are_total_too(
            track in proptest::collection::vec(
                (0i64..2000, -10i64..400, -5i64..5).prop_map(|(t, x, y)| TrackPoint { t, x, y }),
                0..80,
            ).prop_map(|mut v| { v.sort_by_key(|p| p.t); v }),
            keyboard in any::<bool>(),
        ) {
            let input = if keyboard { InputKind::Keyboard } else { InputKind::Pointer };
            let end = track.last().map_or(0, |p| p.x);
            let _ = judge(ANSWER, end, &track, input);
        }

        #[test]
        fn human_tracks_pass_anywhere_in_the_picture(seed in any::<u64>(), target in 40i64..=280) {
            let track = human_track(&mut StdRng::seed_from_u64(seed), target);
            prop_assert_eq!(judge(target as u32, target, &track, InputKind::Pointer), Ok(()));
        }

        #[test]
        fn human_track_is_total(seed in any::<u64>(), target in any::<i64>()) {
            let track = human_track(&mut StdRng::seed_from_u64(seed), target);
            prop_assert!((20..=60).contains(&track.len()));
            prop_assert_eq!(track.last().map(|p| p.x), Some(target));
        }

        #[test]
        fn off_by_more_than_tolerance_always_fails(seed in any::<u64>(), off in 7i64..300) {
            let track = human(seed);
            for x in [200 - off, 200 + off] {
                prop_assert_ne!(pointer(&track, x), Ok(()));
            }
        }
    }
}
