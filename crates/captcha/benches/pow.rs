//! Proof of work: the server's verify cost (one hash, whatever the difficulty) and, for scale,
//! what solving costs natively per level (the browser's figures are measured in the browser test).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use jszg_captcha::pow;

fn bench_verify(c: &mut Criterion) {
    let challenge = "kY3v0mX1cL2qS9tB8wA7eQ";
    let mut group = c.benchmark_group("pow_verify");
    for d in [14u32, 16, 18, 20, 22] {
        let nonce = pow::solve(challenge, d, 1 << 30).unwrap_or(0).to_string();
        group.bench_function(format!("difficulty_{d}"), |b| b.iter(|| pow::verify(black_box(challenge), black_box(&nonce), black_box(d))));
    }
    group.finish();
    c.bench_function("pow_verify_malformed", |b| b.iter(|| pow::verify(black_box(challenge), black_box("12a"), black_box(16))));
}

fn bench_solve(c: &mut Criterion) {
    let mut group = c.benchmark_group("pow_solve_native");
    group.sample_size(10);
    for d in [14u32, 16, 18] {
        let mut k = 0u64;
        group.bench_function(format!("difficulty_{d}"), |b| {
            b.iter(|| {
                k += 1;
                pow::solve(&format!("challenge-{k}"), d, 1 << 30)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_verify, bench_solve);
criterion_main!(benches);
