//! A sample sheet: `cargo run -p jszg-captcha --example sheet -- OUT.png [N] [SEED]` draws N
//! challenges (default 20) as the page first shows them, the piece at the start (x = 0) of its
//! row, in a grid of four columns, to judge by eye how easily a person finds the hole.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use image::{imageops, RgbaImage};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn decode(url: &str) -> Result<RgbaImage, Box<dyn std::error::Error>> {
    let b64 = url.split_once(',').map_or("", |(_, b)| b);
    Ok(image::load_from_memory(&STANDARD.decode(b64)?)?.to_rgba8())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: sheet OUT.png [N] [SEED]")?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let (w, h, gap, cols) = (jszg_captcha::WIDTH, jszg_captcha::HEIGHT, 6, 4);
    let rows = n.div_ceil(cols);
    let mut sheet = RgbaImage::from_pixel(cols * (w + gap), rows * (h + gap), image::Rgba([255, 255, 255, 255]));
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..n {
        let c = jszg_captcha::generate(&mut rng);
        let mut tile = decode(&c.background)?;
        imageops::overlay(&mut tile, &decode(&c.piece)?, 0, i64::from(c.piece_y));
        // A small tick under the true hole, below the picture, for checking afterwards.
        let (x0, y0) = ((i % cols) * (w + gap), (i / cols) * (h + gap));
        imageops::overlay(&mut sheet, &tile, i64::from(x0), i64::from(y0));
        for dx in 0..c.piece_width {
            for dy in 0..3 {
                sheet.put_pixel(x0 + c.answer_x + dx, y0 + h + dy, image::Rgba([255, 0, 0, 255]));
            }
        }
    }
    sheet.save(&out)?;
    Ok(())
}
