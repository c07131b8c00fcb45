//! Spawn the whole app on port 0 with a fresh database per test: a SQLite
//! file in a temporary directory, or a new PostgreSQL database when
//! `JSZG_TEST_DATABASE_URL` names a server (the URL of any database on it).

use std::net::SocketAddr;
use std::time::Duration;
use std::sync::OnceLock;

use rand::Rng;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use time::Date;

use jszg::config::{Argon2Config, CaptchaConfig, Config, LimitsConfig, LoginConfig};
use jszg::App;

/// An HTTP client for one running server, in-process or not.
pub struct Api {
    pub base: String,
    pub client: Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self { base: format!("http://{addr}"), client: Client::builder().cookie_store(true).build().expect("client") }
    }
}

pub struct TestApp {
    pub api: Api,
    pub app: App,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn pg_admin_url() -> Option<String> {
    std::env::var("JSZG_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))
}

pub fn is_postgres() -> bool {
    pg_admin_url().is_some()
}

/// Replace the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((url, String::new()));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    format!("{}/{}{}", &base[..path_start], name, query)
}

static CLEANED: OnceLock<()> = OnceLock::new();
/// The migrated database every test database is copied from (crates.io's template database):
/// `CREATE DATABASE … TEMPLATE` instead of fourteen migrations per test. Named after a digest of
/// the migrations, so it is built once per schema and shared by every test process (cargo
/// nextest runs each test in its own) and by later runs.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// A digest of the PostgreSQL migrations, names and contents.
fn migrations_digest() -> String {
    use sha2::Digest;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("read the migrations").filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let mut hash = sha2::Sha256::new();
    for file in files {
        hash.update(file.file_name().map(|n| n.as_encoded_bytes().to_vec()).unwrap_or_default());
        hash.update(std::fs::read(&file).expect("read a migration"));
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

async fn template(admin_url: &str) -> String {
    TEMPLATE
        .get_or_init(|| async {
            use sqlx::Connection;
            let name = format!("jszg_tpl_{}", migrations_digest());
            let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("connect to PostgreSQL");
            // One process builds it; the others wait here and then find it.
            sqlx::query("SELECT pg_advisory_lock(73102450)").execute(&mut admin).await.expect("take the template lock");
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .expect("look for the template");
            if !exists {
                // Templates of older migrations; one still being copied from stays (the drop fails).
                let old: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'jszg\\_tpl\\_%'")
                    .fetch_all(&mut admin)
                    .await
                    .unwrap_or_default();
                for db in old {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\"")).execute(&mut admin).await;
                }
                // Built under another name and renamed when complete, so a run killed mid-migration
                // never leaves a half-migrated template under the real name.
                let building = format!("{name}_building");
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)")).execute(&mut admin).await;
                sqlx::query(&format!("CREATE DATABASE \"{building}\"")).execute(&mut admin).await.expect("create the template");
                let url = jszg::config::DatabaseUrl::new(with_database(admin_url, &building));
                let db = jszg::store::Db::connect(&url, 1).await.expect("connect to the template");
                db.migrate().await.expect("migrate the template");
                // A template may have no other session while it is copied or renamed.
                db.close().await;
                sqlx::query(&format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"")).execute(&mut admin).await.expect("name the template");
            }
            sqlx::query("SELECT pg_advisory_unlock(73102450)").execute(&mut admin).await.expect("release the template lock");
            name
        })
        .await
        .clone()
}

async fn fresh_postgres(admin_url: &str) -> String {
    use sqlx::Connection;
    let template = template(admin_url).await;
    let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("connect to PostgreSQL");
    if CLEANED.set(()).is_ok() {
        // Databases left behind by earlier runs.
        let stale: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'jszg\\_t\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
        // Only those of processes that are gone: parallel test runs share the server.
        let alive = |name: &str| {
            name.strip_prefix("jszg_t_")
                .and_then(|rest| rest.split('_').next())
                .is_some_and(|pid| std::path::Path::new("/proc").join(pid).exists())
        };
        for name in stale.into_iter().filter(|n| !alive(n)) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).await;
        }
    }
    let name = format!("jszg_t_{}_{:08x}", std::process::id(), rand::thread_rng().gen::<u32>());
    // Copies of one template are made one at a time by the server; a concurrent copy waits.
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).execute(&mut admin).await.expect("create database");
    with_database(admin_url, &name)
}

pub fn test_config(database_url: &str) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        dev: Some(true),
        // Keys in memory: no key file beside the test database or in the crate.
        keys: Some(jszg::vault::KeyMaterial::generate()),
        max_connections: 10,
        // Password hashing is not what these tests measure.
        argon2: Argon2Config { memory_kib: 1024, iterations: 1, parallelism: 1, max_concurrent: 8, queue_limit: 256 },
        // Every test registers its applicants from 127.0.0.1: the abuse quotas and the rising
        // proof of work are raised out of the way (API.md "Abuse limits"); tests of them set
        // the real defaults back with `with_real_limits`.
        limits: generous_limits(),
        captcha: CaptchaConfig { pow_max_difficulty: 0, ..CaptchaConfig::default() },
        login: LoginConfig { network_limit: 1_000_000, ..LoginConfig::default() },
        ..Config::default()
    }
}

/// A production configuration (no development aids) whose deliveries and identity authority
/// point at a closed port: nothing is sent during a test.
pub fn production_config(database_url: &str) -> Config {
    use jszg::config::{AuthorityProvider, SmsConfig, SmsProvider, SmtpConfig};
    let mut config = test_config(database_url);
    config.dev = None;
    config.keys = Some(jszg::vault::KeyMaterial::generate());
    config.smtp = Some(SmtpConfig { url: "smtp://127.0.0.1:9".into(), from: "中国教师资格网 <noreply@example.cn>".into() });
    config.sms = Some(SmsConfig {
        provider: SmsProvider::Aliyun,
        access_key_id: "id".into(),
        access_key_secret: "secret".into(),
        sign_name: "中国教师资格网".into(),
        code_template: "SMS_1".into(),
        notice_template: "SMS_2".into(),
        sdk_app_id: None,
        region: None,
        endpoint: Some("http://127.0.0.1:9/".into()),
    });
    config.authority.provider = AuthorityProvider::Http;
    config.authority.url = Some("http://127.0.0.1:9/verify".into());
    config.authority.secret = Some("authority-secret".into());
    config.outbox.worker = false;
    config
}

pub fn generous_limits() -> LimitsConfig {
    let many = 1_000_000;
    LimitsConfig {
        sms_per_address_hour: many,
        sms_per_address_day: many,
        sms_per_network_hour: many,
        sms_per_network_day: many,
        sms_global_hour: many,
        sms_global_day: many,
        email_per_address_hour: many,
        email_per_address_day: many,
        email_per_network_hour: many,
        email_per_network_day: many,
        email_global_hour: many,
        email_global_day: many,
        registrations_per_address_hour: many,
        registrations_per_network_hour: many,
    }
}

/// The shipped quotas and proof-of-work curve, for the tests whose subject they are.
pub fn with_real_limits(config: &mut Config) {
    config.limits = LimitsConfig::default();
    config.captcha = CaptchaConfig::default();
    config.login = LoginConfig::default();
}

/// A database URL for a new, empty database of the backend under test.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match pg_admin_url() {
        Some(admin) => (fresh_postgres(&admin).await, None),
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("jszg.db").display());
            (url, Some(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    let (url, dir) = fresh_database().await;
    spawn_with(test_config(&url), dir).await
}

/// Another instance on the same database (as a second server would be).
pub async fn spawn_sibling(of: &TestApp) -> TestApp {
    let mut config = test_config(&of.database_url);
    // The same keys, as every instance of one deployment has.
    config.keys = of.app.config.keys.clone();
    spawn_with(config, None).await
}

pub async fn spawn_with(config: Config, dir: Option<tempfile::TempDir>) -> TestApp {
    let database_url = config.database_url.clone();
    let app = App::start(config).await.expect("app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        let _ = jszg::server::serve(served, listener, async move {
            let _ = rx.await;
        })
        .await;
    });
    TestApp { api: Api::new(addr), app, database_url, shutdown: Some(tx), _dir: dir }
}

impl std::ops::Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn new_captcha(&self, purpose: &str) -> Value {
        let res = self.post("/api/v1/captchas", &json!({ "purpose": purpose })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    /// Solve a captcha the way a person would: drag to the dev solution
    /// along a human-looking track.
    pub async fn captcha_token(&self, purpose: &str) -> String {
        let challenge = self.new_captcha(purpose).await;
        let id = challenge["id"].as_str().expect("id");
        let x = challenge["dev_solution"].as_i64().expect("dev_solution");
        let track = jszg_captcha::human_track(&mut rand::thread_rng(), x);
        let body = json!({ "x": x, "track": track_json(&track), "pow_nonce": pow_nonce(&challenge) });
        let res = self.post(&format!("/api/v1/captchas/{id}/answer"), &body).await;
        assert_eq!(res.status(), StatusCode::OK, "captcha answer: {}", res.text().await.unwrap_or_default());
        let body: Value = res.json().await.expect("json");
        body["captcha_token"].as_str().expect("token").to_owned()
    }

    pub async fn request_sms(&self, phone: &str, purpose: &str) -> Response {
        let token = self.captcha_token("sms").await;
        self.post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone, "purpose": purpose, "captcha_token": token }))
            .await
    }

    pub async fn outbox(&self, to: &str) -> Vec<Value> {
        let res = self.client.get(self.url("/api/v1/dev/outbox")).query(&[("to", to)]).send().await.expect("outbox");
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// Every message in the development outbox, newest first.
    pub async fn outbox_all(&self) -> Vec<Value> {
        let res = self.client.get(self.url("/api/v1/dev/outbox")).send().await.expect("outbox");
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// Wait until the delivery worker has taken every queued message (none left pending).
    pub async fn outbox_settled(&self) {
        eventually("every queued message delivered", Duration::from_secs(10), || async {
            self.outbox_all().await.iter().all(|m| m["status"] != "pending").then_some(())
        })
        .await
    }

    /// The newest six-digit code sent to `to`.
    pub async fn last_code(&self, to: &str) -> String {
        let messages = self.outbox(to).await;
        let body = messages.first().and_then(|m| m["body"].as_str()).expect("a message").to_owned();
        extract_code(&body).expect("a code in the message")
    }

    pub async fn sms_code(&self, phone: &str) -> String {
        let res = self.request_sms(phone, "register").await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "sms: {}", res.text().await.unwrap_or_default());
        self.last_code(phone).await
    }

    /// Register an account and return the response.
    pub async fn register(&self, form: &Value) -> Response {
        self.post("/api/v1/accounts", form).await
    }

    pub async fn advance_clock(&self, seconds: i64) {
        let res = self.post("/api/v1/dev/clock", &json!({ "advance_seconds": seconds })).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

/// Solve a challenge's proof of work, as the page's Web Worker does.
/// Poll `probe` until it answers `Some`, for at most `within`: what a test waits for, said once,
/// instead of a sleep before an assert or a hand-written loop.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn pow_nonce(challenge: &Value) -> String {
    assert_eq!(challenge["pow"]["algorithm"], "SHA-256");
    let puzzle = challenge["pow"]["challenge"].as_str().expect("pow.challenge");
    let difficulty = challenge["pow"]["difficulty"].as_u64().expect("pow.difficulty") as u32;
    jszg_captcha::pow::solve(puzzle, difficulty, 1 << 32).expect("a nonce").to_string()
}

pub fn track_json(track: &[jszg_captcha::TrackPoint]) -> Value {
    Value::Array(track.iter().map(|p| json!({ "t": p.t, "x": p.x, "y": p.y })).collect())
}

pub fn extract_code(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    chars.windows(6).enumerate().find_map(|(i, w)| {
        let digits = w.iter().all(|c| c.is_ascii_digit());
        let before = i == 0 || !chars[i - 1].is_ascii_digit();
        let after = chars.get(i + 6).is_none_or(|c| !c.is_ascii_digit());
        (digits && before && after).then(|| w.iter().collect())
    })
}

/// A valid resident ID number for someone born on `birth`.
pub fn resident_id(birth: Date) -> String {
    let mut rng = rand::thread_rng();
    // A random Beijing district as well as sequence: tests that register a
    // few applicants born on one day must not draw the same number.
    let district = rng.gen_range(110100..110200);
    let first17 = format!("{district}{:04}{:02}{:02}{:03}", birth.year(), u8::from(birth.month()), birth.day(), rng.gen_range(0..1000));
    let check = jszg_domain::resident_check_char(&first17).expect("check char");
    format!("{first17}{check}")
}

/// The same number with a wrong check character.
pub fn bad_check(doc: &str) -> String {
    let last = doc.chars().last().unwrap_or('0');
    let wrong = if last == '1' { '2' } else { '1' };
    format!("{}{}", &doc[..17], wrong)
}

/// A phone number nobody else in this test uses.
pub fn phone() -> String {
    format!("158{:08}", rand::thread_rng().gen_range(0..100_000_000u32))
}

pub fn date(s: &str) -> Date {
    jszg_domain::parse_date(s).expect("date")
}

/// A complete, valid registration form for a 30-year-old (period 20y).
pub fn form(doc_number: &str, phone: &str, code: &str) -> Value {
    json!({
        "doc_type": "resident_id",
        "doc_number": doc_number,
        "name": "张三",
        "validity": { "period": "20y", "start": "2020-05-01" },
        "password": "Abc#2024x",
        "password_confirm": "Abc#2024x",
        "email": "123456@qq.com",
        "phone": phone,
        "verification_code": code,
        "agree_terms": true,
        "confirm_validity_warning": false
    })
}

pub async fn error_code(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let body: Value = res.json().await.expect("json error body");
    (status, body["error"].clone())
}

pub const PASSWORD: &str = "Abc#2024x";

/// A registered applicant of each document type.
pub struct Registered {
    pub doc: String,
    pub phone: String,
}

/// An hmt_residence number (GB 11643 with a region prefix) for `birth`.
pub fn residence_permit(prefix: &str, birth: Date) -> String {
    let first17 =
        format!("{prefix}{:04}{:02}{:02}{:03}", birth.year(), u8::from(birth.month()), birth.day(), rand::thread_rng().gen_range(0..1000));
    let check = jszg_domain::resident_check_char(&first17).expect("check char");
    format!("{first17}{check}")
}

pub fn permit_number(doc_type: &str) -> String {
    let n: u32 = rand::thread_rng().gen_range(0..100_000_000);
    match doc_type {
        "hk_mo_permit" => format!("H{n:08}"),
        _ => format!("{n:08}"),
    }
}

impl Api {
    /// Register a fresh applicant with `doc_type` and return its number.
    pub async fn register_as(&self, doc_type: &str) -> Registered {
        let doc = match doc_type {
            "resident_id" => resident_id(date("1985-03-15")),
            "hmt_residence" => residence_permit("810000", date("1985-03-15")),
            other => permit_number(other),
        };
        let phone = phone();
        let code = self.sms_code(&phone).await;
        let mut body = form(&doc, &phone, &code);
        body["doc_type"] = json!(doc_type);
        if doc_type != "resident_id" {
            body["validity"] = json!({ "period": "5y", "start": "2024-01-01" });
        }
        let res = self.register(&body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {doc_type}: {}", res.text().await.unwrap_or_default());
        Registered { doc, phone }
    }

    pub async fn login(&self, doc: &str, password: &str, entry: &str) -> Response {
        let token = self.captcha_token("login").await;
        self.post("/api/v1/sessions", &json!({ "doc_number": doc, "password": password, "captcha_token": token, "entry": entry })).await
    }

    /// A new client (its own cookie jar) on the same server.
    pub fn another_client(&self) -> Api {
        Api { base: self.base.clone(), client: Client::builder().cookie_store(true).build().expect("client") }
    }
}

/// A real JPEG of `width`×`height`; `noise` makes it large.
pub fn jpeg(width: u32, height: u32, noise: bool) -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        if noise {
            image::Rgb([rng.gen(), rng.gen(), rng.gen()])
        } else {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).expect("encode jpeg");
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

pub fn part(bytes: Vec<u8>, name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("image/jpeg").expect("mime")
}

/// A manual review application with three good photos, unless replaced.
pub fn review_form(name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("validity_period", "20y")
        .text("validity_start", "2020-05-01")
        .text("name", name.to_owned())
        .text("reason", "实名认证不通过，信息确认无误")
        .part("front", part(jpeg(320, 200, false), "front.jpg"))
        .part("back", part(jpeg(320, 200, false), "back.jpg"))
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"))
}

impl Api {
    pub async fn submit_review(&self, form: reqwest::multipart::Form) -> Response {
        self.client.post(self.url("/api/v1/me/reviews")).multipart(form).send().await.expect("request")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).json(body).send().await.expect("request")
    }

    /// Register, log in and complete the profile of a resident-ID applicant.
    pub async fn applicant(&self) -> Registered {
        let who = self.register_as("resident_id").await;
        assert_eq!(self.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
        assert_eq!(self.put_json("/api/v1/me/profile", &json!({ "ethnicity": "01" })).await.status(), StatusCode::OK);
        who
    }
}

impl TestApp {
    /// A staff member signed in on a client of their own.
    pub async fn staff(&self, username: &str, role: jszg::flows::staff::Role) -> Api {
        jszg::flows::staff::add(&self.app, username, role).await.expect("staff add");
        let created_password = {
            // Reset to a known password through the store, as an operator would.
            let hash = self.app.hasher.hash("Staff#Pass2026").await.expect("hash");
            let member = jszg::store::staff::by_username(&self.app.db, username).await.expect("db").expect("member");
            jszg::store::staff::set_password(&self.app.db, member.id, &hash, &self.app.vault.password_tag(jszg::vault::Holder::Staff, member.id, &hash)).await.expect("db");
            "Staff#Pass2026"
        };
        let api = self.another_client();
        let res = api.post("/api/v1/staff/sessions", &json!({ "username": username, "password": created_password })).await;
        assert_eq!(res.status(), StatusCode::OK);
        api
    }
}

/// Recovery and contact change steps, and restarts (personal data tests).
impl Api {
    /// Step 1 of 忘记密码 for a 张三 resident-ID account; the recovery id.
    pub async fn recovery_for(&self, doc: &str) -> String {
        let token = self.captcha_token("recovery").await;
        let res = self
            .post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": "张三", "captcha_token": token }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
    }

    /// File a contact change to a new email address; its review id.
    pub async fn email_change(&self, recovery_id: &str, email: &str) -> String {
        let token = self.captcha_token("email").await;
        let res = self
            .post(
                "/api/v1/verification-codes",
                &json!({ "channel": "email", "email": email, "purpose": "contact_change", "captcha_token": token }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let code = self.last_code(email).await;
        let form = reqwest::multipart::Form::new()
            .text("kind", "email")
            .text("new_value", email.to_owned())
            .text("verification_code", code)
            .text("reason", "原邮箱已停用")
            .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"));
        let res = self
            .client
            .post(self.url(&format!("/api/v1/recoveries/{recovery_id}/contact-changes")))
            .multipart(form)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
        res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
    }
}

impl TestApp {
    /// Stop this instance and start another on the same database (and the
    /// same temporary directory), with its configuration changed by `change`.
    pub async fn restart(mut self, change: impl FnOnce(&mut Config)) -> TestApp {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let dir = self._dir.take();
        let mut config = (*self.app.config).clone();
        config.bind = "127.0.0.1:0".into();
        change(&mut config);
        self.app.db.close().await;
        spawn_with(config, dir).await
    }
}
