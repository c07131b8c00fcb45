//! Generation time of one challenge (budget: 5 ms median on a 2-core machine) and judging time.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jszg_captcha::{generate, human_track, judge, InputKind};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Payload budget: background + piece data URLs ≤ 40 KB. Printed beside the timings.
fn report_payload() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut sizes: Vec<usize> = (0..300).map(|_| generate(&mut rng)).map(|c| c.background.len() + c.piece.len()).collect();
    sizes.sort_unstable();
    println!("payload over 300 challenges: min {} B, median {} B, max {} B (budget 40960 B)", sizes[0], sizes[150], sizes[299]);
}

fn bench_generate(c: &mut Criterion) {
    report_payload();
    let mut rng = StdRng::seed_from_u64(1);
    c.bench_function("generate", |b| b.iter(|| black_box(generate(&mut rng))));
}

fn bench_judge(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let track = human_track(&mut rng, 200);
    c.bench_function("judge_human_track", |b| b.iter(|| judge(black_box(200), black_box(200), black_box(&track), InputKind::Pointer)));
}

criterion_group!(benches, bench_generate, bench_judge);
criterion_main!(benches);
