//! Writes N challenges exactly as the browser receives them, plus the true answer, so the solver
//! harness (crates/captcha/solvers) can score without a server.
//!
//! `cargo run -p jszg-captcha --example dump -- DIR [N] [SEED]` writes `DIR/NNNN_bg.jpg`,
//! `DIR/NNNN_piece.png` and `DIR/index.json` (`[{"i", "piece_y", "answer_x", "width"}, …]`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: dump DIR [N] [SEED]")?);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(300);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    std::fs::create_dir_all(&dir)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut index = Vec::with_capacity(n);
    for i in 0..n {
        let c = jszg_captcha::generate(&mut rng);
        for (url, name) in [(&c.background, "bg.jpg"), (&c.piece, "piece.png")] {
            let b64 = url.split_once(',').map_or("", |(_, b)| b);
            std::fs::write(dir.join(format!("{i:04}_{name}")), STANDARD.decode(b64)?)?;
        }
        index.push(format!(
            r#"{{"i": {i}, "piece_y": {}, "answer_x": {}, "width": {}, "payload": {}}}"#,
            c.piece_y,
            c.answer_x,
            c.width,
            c.background.len() + c.piece.len()
        ));
    }
    std::fs::write(dir.join("index.json"), format!("[\n{}\n]\n", index.join(",\n")))?;
    Ok(())
}
