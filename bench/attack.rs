//! The SMS pump (issue: 短信轰炸), played against a running development-mode server as an
//! attacker would: answer the slider (from `dev_solution`; in production a colour-aware solver
//! finds the hole every time, docs/captcha.md), solve the proof of work natively, and ask
//! `POST /api/v1/verification-codes` for a code to a fresh phone number, again and again.
//!
//! Each client binds its own source address in 127.0.0.0/8 (all of it is loopback), so the
//! server sees distinct addresses and /24 networks without `trust_forwarded_for`.
//!
//!   cargo run --release -p jszg --example attack -- BASE_URL [SECONDS] [SCENARIO…]
//!
//! Scenarios: `one` (1 address), `subnet` (16 addresses in one /24), `wide` (256 addresses in 16
//! networks), `curve` (the price of the 1st, 10th, 100th and 1,000th challenge from one address).
//! A pump stops when the server refuses it for the rest of the hour (429 `rate_limited`, 503
//! `sms_unavailable`) or after SECONDS (default 60). Codes per hour are counted from the first
//! code: a pump that was refused for the rest of its hour sent exactly what it got; one that ran
//! out of time is extrapolated at its average rate, which overstates it (the price only rises).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What one source address managed.
#[derive(Default)]
struct Tally {
    sent: u64,
    refused_for: Option<i64>,
    unavailable: bool,
    last_difficulty: u32,
}

/// Native proof-of-work work, shared by every pump: solving is CPU-bound, so it runs on the
/// blocking pool at most `cores` at a time and its CPU time is the wall time of each solve.
struct Solver {
    permits: tokio::sync::Semaphore,
    nanos: AtomicU64,
}

impl Solver {
    async fn solve(&self, puzzle: String, difficulty: u32) -> Result<String> {
        let _permit = self.permits.acquire().await?;
        let started = Instant::now();
        let nonce = tokio::task::spawn_blocking(move || jszg_captcha::pow::solve(&puzzle, difficulty, u64::MAX)).await?;
        self.nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(nonce.ok_or("no nonce")?.to_string())
    }

    fn cpu_secs(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// CPU seconds this process has used (user + system), from /proc: the harness's whole cost,
/// the proof of work and the HTTP client alike, whatever else the machine is doing.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks a second.
    (ticks(11) + ticks(12)) / 100.0
}

fn client(ip: Ipv4Addr) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().local_address(IpAddr::V4(ip)).timeout(Duration::from_secs(300)).build()?)
}

/// A challenge: its id, the x that fits and the proof of work asked.
async fn challenge(client: &reqwest::Client, base: &str) -> Result<(String, i64, String, u32)> {
    let res = client.post(format!("{base}/api/v1/captchas")).json(&json!({ "purpose": "sms" })).send().await?;
    let c: Value = res.json().await?;
    let x = c["dev_solution"].as_i64().ok_or("no dev_solution: run the server in development mode")?;
    let id = c["id"].as_str().ok_or("no id")?.to_owned();
    let puzzle = c["pow"]["challenge"].as_str().unwrap_or_default().to_owned();
    let difficulty = c["pow"]["difficulty"].as_u64().and_then(|d| u32::try_from(d).ok()).unwrap_or(0);
    Ok((id, x, puzzle, difficulty))
}

async fn answer(client: &reqwest::Client, base: &str, id: &str, x: i64, nonce: &str) -> Result<Option<String>> {
    let track: Vec<Value> =
        jszg_captcha::human_track(&mut rand::thread_rng(), x).iter().map(|p| json!({ "t": p.t, "x": p.x, "y": p.y })).collect();
    let body = json!({ "x": x, "track": track, "pow_nonce": nonce });
    let res: Value = client.post(format!("{base}/api/v1/captchas/{id}/answer")).json(&body).send().await?.json().await?;
    Ok(res["captcha_token"].as_str().map(str::to_owned))
}

/// One source address pumping codes to strangers until refused for the hour or out of time.
async fn pump(base: String, ip: Ipv4Addr, solver: Arc<Solver>, deadline: Instant) -> Result<Tally> {
    let client = client(ip)?;
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let (id, x, puzzle, difficulty) = challenge(&client, &base).await?;
        tally.last_difficulty = difficulty;
        let nonce = solver.solve(puzzle, difficulty).await?;
        let Some(token) = answer(&client, &base, &id, x, &nonce).await? else { continue };
        let phone = format!("13{:09}", rand::thread_rng().gen_range(0..1_000_000_000u64));
        let res = client
            .post(format!("{base}/api/v1/verification-codes"))
            .json(&json!({ "channel": "sms", "phone": phone, "purpose": "register", "captcha_token": token }))
            .send()
            .await?;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match (status, body["error"]["code"].as_str()) {
            (202, _) => tally.sent += 1,
            (429, Some("rate_limited")) => {
                tally.refused_for = body["error"]["retry_after"].as_i64();
                return Ok(tally);
            }
            (503, _) => {
                tally.unavailable = true;
                return Ok(tally);
            }
            (other, code) => return Err(format!("unexpected answer {other} {code:?}").into()),
        }
    }
    Ok(tally)
}

fn addresses(scenario: &str) -> Vec<Ipv4Addr> {
    match scenario {
        "one" => vec![Ipv4Addr::new(127, 10, 0, 1)],
        "subnet" => (1..=16).map(|m| Ipv4Addr::new(127, 20, 0, m)).collect(),
        _ => (0..16u8).flat_map(|n| (1..=16).map(move |m| Ipv4Addr::new(127, 30, n, m))).collect(),
    }
}

async fn run(base: &str, scenario: &str, seconds: u64) -> Result<()> {
    let ips = addresses(scenario);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let solver = Arc::new(Solver { permits: tokio::sync::Semaphore::new(cores), nanos: AtomicU64::new(0) });
    let started = Instant::now();
    let cpu_before = process_cpu_secs();
    let deadline = started + Duration::from_secs(seconds);
    let pumps: Vec<_> = ips.iter().map(|ip| tokio::spawn(pump(base.to_owned(), *ip, solver.clone(), deadline))).collect();
    let mut tallies = Vec::new();
    for p in pumps {
        tallies.push(p.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_secs() - cpu_before;
    let sent: u64 = tallies.iter().map(|t| t.sent).sum();
    let blocked = tallies.iter().filter(|t| t.refused_for.is_some() || t.unavailable).count();
    let max_difficulty = tallies.iter().map(|t| t.last_difficulty).max().unwrap_or(0);
    let per_hour = if blocked == tallies.len() {
        format!("{sent} (every address refused for the rest of its hour)")
    } else {
        format!("≤ {:.0} (extrapolated: {} of {} addresses still sending)", sent as f64 * 3600.0 / elapsed, tallies.len() - blocked, tallies.len())
    };
    println!(
        "{scenario:>6}: {} addresses in {} networks: {sent} codes in {elapsed:.1} s; per hour {per_hour}; \
         {cpu:.2} CPU s in all ({:.3} per code), of which solving {:.2} s; last difficulty {max_difficulty}",
        ips.len(),
        ips.iter().map(|ip| ip.octets()[..3].to_vec()).collect::<std::collections::BTreeSet<_>>().len(),
        cpu / sent.max(1) as f64,
        solver.cpu_secs(),
    );
    Ok(())
}

/// The price list: the difficulty of the n-th challenge from one address within the window, and
/// what solving it costs natively. Challenges are counted when they are handed out, so the
/// harness asks for (and drops) the ones in between without solving them.
async fn curve(base: &str) -> Result<()> {
    let client = client(Ipv4Addr::new(127, 40, 0, 1))?;
    let mut n = 0u32;
    println!(" curve: the n-th challenge from one address in an hour, solved natively on one core");
    for target in [1u32, 10, 100, 1000] {
        let (mut puzzle, mut difficulty) = (String::new(), 0);
        while n < target {
            let (_, _, p, d) = challenge(&client, base).await?;
            (puzzle, difficulty) = (p, d);
            n += 1;
        }
        let started = Instant::now();
        // Past 2^24 hashes one solve is seconds; its luck evens out less, but time matters more.
        let tries = if difficulty >= 24 { 1 } else { 3 };
        for k in 0..tries {
            let p = format!("{puzzle}{k}");
            tokio::task::spawn_blocking(move || jszg_captcha::pow::solve(&p, difficulty, u64::MAX)).await?;
        }
        let secs = started.elapsed().as_secs_f64() / f64::from(tries);
        println!("        n = {target:>4}: difficulty {difficulty:>2}, {:>12.0} hashes expected, {secs:>8.3} CPU s (mean of {tries})", 2f64.powi(difficulty as i32));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args.first().cloned().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut scenarios: Vec<&str> = args.iter().skip(2).map(String::as_str).collect();
    if scenarios.is_empty() {
        scenarios = vec!["one", "subnet", "wide", "curve"];
    }
    for scenario in scenarios {
        match scenario {
            "curve" => curve(&base).await?,
            "one" | "subnet" | "wide" => run(&base, scenario, seconds).await?,
            other => return Err(format!("unknown scenario {other}").into()),
        }
    }
    Ok(())
}
