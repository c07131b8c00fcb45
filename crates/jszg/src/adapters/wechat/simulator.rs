//! Development without a service account (WX-4): the platform and the applicant's phone, played
//! inside jszg so that `/dev/wechat` shows the whole WeChat journey.
//!
//! The phone's side goes through the real callback: each tap or message is built as the platform
//! builds it, signed with the account's token, sealed in safe mode, and POSTed over HTTP to this
//! server's own `/wechat/callback`; the passive reply is checked and opened the same way the
//! platform would. Only the platform's API (QR codes, customer-service messages) is answered in
//! memory, since it has no protocol of jszg's own to exercise. State lives in this process and
//! is lost on restart, like a phone's chat would be on another phone.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;

use super::platform::QrCode;
use super::safe_mode::{self, SafeMode};
use super::wire::{cdata_safe, Fields};
use crate::config::WechatConfig;
use crate::crypto::random_token;

/// The account's original id (`gh_…`), as the platform puts it in `ToUserName`.
pub const ACCOUNT_ID: &str = "gh_jszg_dev";
const APP_ID: &str = "wxjszgdevsimulator";
/// Lines kept per phone, and QR codes kept on screen.
const MAX_LINES: usize = 200;
const MAX_QR_CODES: usize = 64;
/// Phones kept; beyond it one is forgotten (anything may call the development API).
const MAX_PHONES: usize = 1000;
/// What WeChat shows when a service account's callback fails.
const UNAVAILABLE: &str = "该公众号暂时无法提供服务，请稍后再试";

/// Who said a line of the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The applicant, on the phone.
    Me,
    /// The service account: a passive reply or a customer-service message.
    Account,
    /// WeChat itself (an expired QR code, the account failing).
    System,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Me => "me",
            Side::Account => "account",
            Side::System => "system",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Line {
    pub side: Side,
    pub text: String,
    /// Unix seconds, real time.
    pub at: i64,
}

/// One QR code the platform made, as it is seen on some page.
#[derive(Debug, Clone)]
pub struct ShownQr {
    pub ticket: String,
    scene: String,
    url: String,
    pub expires_at: i64,
    /// Phones that scanned it: their 扫一扫 list no longer offers it (the link still works, and
    /// other phones still see it, as the page that shows it may still be waiting).
    scanned_by: Vec<String>,
}

impl ShownQr {
    pub fn expires_in(&self) -> i64 {
        (self.expires_at - real_now()).max(0)
    }
}

#[derive(Default)]
struct Phone {
    following: bool,
    /// The last `CreateTime` used: events are told apart by sender and second, so each is later.
    last_time: i64,
    lines: VecDeque<Line>,
}

#[derive(Default)]
struct State {
    phones: HashMap<String, Phone>,
    qr_codes: VecDeque<ShownQr>,
    next_msg_id: u64,
}

impl State {
    fn phone(&mut self, openid: &str) -> &mut Phone {
        if !self.phones.contains_key(openid) && self.phones.len() >= MAX_PHONES {
            if let Some(other) = self.phones.keys().next().cloned() {
                self.phones.remove(&other);
            }
        }
        self.phones.entry(openid.to_owned()).or_default()
    }
}

/// What the phone of one WeChat user shows.
#[derive(Debug, Clone)]
pub struct PhoneView {
    pub following: bool,
    pub lines: Vec<Line>,
    /// The live QR codes the camera could be pointed at, newest first.
    pub qr_codes: Vec<ShownQr>,
}

/// What the phone does.
#[derive(Debug, Clone)]
pub enum Action {
    Follow,
    Unfollow,
    /// Tap a menu item (`GET_CODE` is 取验证码).
    Menu(String),
    Text(String),
    /// Scan the QR code with this ticket.
    Scan(String),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not following the service account")]
    NotFollowing,
    #[error("no such QR code")]
    UnknownQr,
    #[error("the server's own address is not known yet")]
    NotListening,
}

pub struct Simulator {
    config: WechatConfig,
    safe: SafeMode,
    /// `http://{listening address}`, set when the server starts listening.
    base: OnceLock<String>,
    http: reqwest::Client,
    state: Mutex<State>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

#[allow(clippy::disallowed_methods)]
fn real_now() -> i64 {
    // The platform's clock, not the development clock: the callback checks freshness on real time.
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Simulator {
    /// A service account with fresh secrets, in safe mode as production should be.
    pub fn new() -> Result<Self, String> {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let config = WechatConfig {
            app_id: APP_ID.to_owned(),
            app_secret: random_token(24),
            token: random_token(24),
            encoding_aes_key: B64.encode(key),
            api_base: String::new(),
            follow_qr_url: Some("/dev/wechat/follow.svg".to_owned()),
        };
        let safe = SafeMode::new(&config.encoding_aes_key, &config.app_id)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("wechat simulator client: {e}"))?;
        Ok(Self { config, safe, base: OnceLock::new(), http, state: Mutex::default() })
    }

    /// The `[wechat]` settings the simulated account runs with.
    pub fn config(&self) -> &WechatConfig {
        &self.config
    }

    /// Called once the server listens: the phone posts to this address.
    pub fn listening_on(&self, addr: std::net::SocketAddr) {
        let _ = self.base.set(format!("http://{addr}"));
    }

    /// The page that plays the phone; a QR code's content points at it, so a real phone on the same
    /// machine (or another tab) can "scan" it by opening it.
    fn phone_url(&self, query: &str) -> String {
        format!("{}/dev/wechat{query}", self.base.get().map(String::as_str).unwrap_or(""))
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }

    // --- The platform's API, as `platform::Platform` would call it. ---

    /// `qrcode/create` with `QR_STR_SCENE`.
    pub fn qr_code(&self, scene: &str, expire_seconds: u64) -> QrCode {
        let ticket = random_token(18);
        let url = self.phone_url(&format!("?scan={ticket}"));
        let expires_at = real_now() + i64::try_from(expire_seconds).unwrap_or(0);
        self.with_state(|s| {
            s.qr_codes.push_front(ShownQr { ticket: ticket.clone(), scene: scene.to_owned(), url: url.clone(), expires_at, scanned_by: Vec::new() });
            s.qr_codes.truncate(MAX_QR_CODES);
        });
        QrCode { ticket, url, expire_seconds }
    }

    /// The picture of a QR code, as `showqrcode` serves it; here a page of this server.
    pub fn qr_image_url(ticket: &str) -> String {
        let query = serde_urlencoded::to_string([("ticket", ticket)]).unwrap_or_default();
        format!("/dev/wechat/qrcode.svg?{query}")
    }

    /// What a QR code encodes, for its picture.
    pub fn qr_content(&self, ticket: &str) -> Option<String> {
        self.with_state(|s| s.qr_codes.iter().find(|q| q.ticket == ticket).map(|q| q.url.clone()))
    }

    /// What the service account's own QR code (关注) encodes.
    pub fn follow_content(&self) -> String {
        self.phone_url("?follow=1")
    }

    /// `message/custom/send`: the message arrives in the phone's chat.
    pub fn send_text(&self, openid: &str, content: &str) {
        self.with_state(|s| push(s.phone(openid), Side::Account, content));
    }

    // --- The phone. ---

    pub fn view(&self, openid: &str) -> PhoneView {
        let now = real_now();
        self.with_state(|s| {
            let qr_codes = s.qr_codes.iter().filter(|q| q.expires_at > now && !q.scanned_by.iter().any(|o| o == openid)).cloned().collect();
            match s.phones.get(openid) {
                Some(p) => PhoneView { following: p.following, lines: p.lines.iter().cloned().collect(), qr_codes },
                None => PhoneView { following: false, lines: Vec::new(), qr_codes },
            }
        })
    }

    /// Do `action` on `openid`'s phone: what the platform would send goes to the callback, and the
    /// reply lands in the chat.
    pub async fn act(&self, openid: &str, action: Action) -> Result<PhoneView, PhoneError> {
        let base = self.base.get().cloned().ok_or(PhoneError::NotListening)?;
        let xml = self.with_state(|s| {
            let msg_id = {
                s.next_msg_id += 1;
                s.next_msg_id
            };
            let live_scene = |ticket: &str| {
                s.qr_codes.iter().find(|q| q.ticket == ticket).map(|q| (q.scene.clone(), q.expires_at > real_now()))
            };
            let scene = match &action {
                Action::Scan(ticket) => {
                    let scene = live_scene(ticket).ok_or(PhoneError::UnknownQr)?;
                    if let Some(q) = s.qr_codes.iter_mut().find(|q| q.ticket == *ticket) {
                        if !q.scanned_by.iter().any(|o| o == openid) {
                            q.scanned_by.push(openid.to_owned());
                        }
                    }
                    Some(scene)
                }
                _ => None,
            };
            let phone = s.phone(openid);
            let time = real_now().max(phone.last_time + 1);
            let event = |name: &str, key: &str| inbound_event(openid, time, name, key);
            let (xml, said) = match action {
                Action::Follow if phone.following => return Ok(None),
                Action::Follow => {
                    phone.following = true;
                    (event("subscribe", ""), "关注了中国教师资格服务号".to_owned())
                }
                Action::Unfollow => {
                    if !phone.following {
                        return Ok(None);
                    }
                    phone.following = false;
                    (event("unsubscribe", ""), "取消关注了中国教师资格服务号".to_owned())
                }
                Action::Menu(_) | Action::Text(_) if !phone.following => return Err(PhoneError::NotFollowing),
                Action::Menu(key) => (event("CLICK", &key), format!("点击菜单：{}", menu_label(&key))),
                Action::Text(text) => (inbound_text(openid, time, msg_id, &text), text),
                Action::Scan(_) => match scene {
                    Some((_, false)) => {
                        push(phone, Side::System, "该二维码已过期，请在网页上刷新二维码后重新扫描。");
                        return Ok(None);
                    }
                    // Scanning while not following follows the account, with the scene attached.
                    Some((scene, true)) if !phone.following => {
                        phone.following = true;
                        (event("subscribe", &format!("qrscene_{scene}")), "扫描二维码并关注了中国教师资格服务号".to_owned())
                    }
                    Some((scene, true)) => (event("SCAN", &scene), "扫描了二维码".to_owned()),
                    None => return Err(PhoneError::UnknownQr),
                },
            };
            phone.last_time = time;
            push(phone, Side::Me, &said);
            Ok(Some(xml))
        })?;
        if let Some(xml) = xml {
            let answer = self.deliver(&base, openid, &xml).await;
            self.with_state(|s| {
                let phone = s.phone(openid);
                match answer {
                    Ok(Some(reply)) => push(phone, Side::Account, &reply),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, "the wechat simulator's message was not answered");
                        push(phone, Side::System, UNAVAILABLE);
                    }
                }
            });
        }
        Ok(self.view(openid))
    }

    /// POST `xml` to the callback as the platform does in safe mode; the passive reply, opened.
    async fn deliver(&self, base: &str, openid: &str, xml: &str) -> Result<Option<String>, String> {
        let token = &self.config.token;
        let timestamp = real_now().to_string();
        let nonce = rand::rngs::OsRng.next_u32().to_string();
        let mut random = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let encrypt = self.safe.encrypt(xml, random);
        let query = [
            ("signature", safe_mode::signature(&[token, &timestamp, &nonce])),
            ("timestamp", timestamp.clone()),
            ("nonce", nonce.clone()),
            ("openid", openid.to_owned()),
            ("encrypt_type", "aes".to_owned()),
            ("msg_signature", safe_mode::signature(&[token, &timestamp, &nonce, &encrypt])),
        ];
        let body = format!("<xml><ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
        let response = self
            .http
            .post(format!("{base}/wechat/callback"))
            .query(&query)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("callback: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("callback answered {}", response.status()));
        }
        let text = response.text().await.map_err(|e| format!("callback body: {e}"))?;
        self.open_reply(&text, &timestamp, &nonce)
    }

    /// `success` (or nothing) means no reply; otherwise the envelope must be signed and sealed for us.
    fn open_reply(&self, text: &str, timestamp: &str, nonce: &str) -> Result<Option<String>, String> {
        let text = text.trim();
        if text.is_empty() || text == "success" {
            return Ok(None);
        }
        let envelope = Fields::parse(text).map_err(|e| format!("reply: {e}"))?;
        let encrypt = envelope.get("Encrypt").ok_or("a plaintext reply to a safe-mode message")?;
        let signature = envelope.get("MsgSignature").unwrap_or_default();
        if envelope.get("TimeStamp") != Some(timestamp) || envelope.get("Nonce") != Some(nonce) {
            return Err("the reply's timestamp or nonce is not the request's".into());
        }
        if !safe_mode::signature_ok(signature, &[&self.config.token, timestamp, nonce, encrypt]) {
            return Err("the reply's MsgSignature does not check".into());
        }
        let xml = self.safe.decrypt(encrypt).map_err(|e| format!("reply: {e}"))?;
        let reply = Fields::parse(&xml).map_err(|e| format!("reply: {e}"))?;
        if reply.get("MsgType") != Some("text") {
            return Err("a reply that is not text".into());
        }
        Ok(reply.get("Content").map(str::to_owned))
    }
}

fn push(phone: &mut Phone, side: Side, text: &str) {
    phone.lines.push_back(Line { side, text: text.to_owned(), at: real_now() });
    while phone.lines.len() > MAX_LINES {
        phone.lines.pop_front();
    }
}

fn menu_label(key: &str) -> &str {
    if key == super::GET_CODE_KEY {
        super::GET_CODE_TEXT
    } else {
        key
    }
}

fn inbound_event(openid: &str, time: i64, event: &str, key: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{time}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{}]]></EventKey></xml>",
        cdata_safe(openid),
        cdata_safe(key)
    )
}

fn inbound_text(openid: &str, time: i64, msg_id: u64, text: &str) -> String {
    // MsgId is unique per message on the platform; a per-start random high part keeps it so
    // across restarts of the simulator (the callback remembers deliveries in the database).
    let msg_id = (u64::from(rand::rngs::OsRng.next_u32()) << 24) ^ msg_id;
    format!(
        "<xml><ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        cdata_safe(openid),
        cdata_safe(text)
    )
}

/// A QR code of `content` as an SVG picture.
pub fn qr_svg(content: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(content.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).quiet_zone(true).build())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::wire;
    use super::*;

    #[test]
    fn the_simulated_account_is_in_safe_mode_and_reads_its_own_replies() {
        let sim = Simulator::new().unwrap();
        assert_eq!(sim.config().encoding_aes_key.len(), 43);
        let reply = wire::text_reply("o_dev", ACCOUNT_ID, 1, "您的注册验证码为123456");
        let envelope = sim.safe.reply(&sim.config.token, &reply, "1700000000", "42", [b'a'; 16]);
        assert_eq!(sim.open_reply(&envelope, "1700000000", "42").unwrap().as_deref(), Some("您的注册验证码为123456"));
        assert_eq!(sim.open_reply("success", "1", "2").unwrap(), None);
        // A reply signed for another request, or with a forged signature, is not believed.
        assert!(sim.open_reply(&envelope, "1700000001", "42").is_err());
        let forged = envelope.replace(&safe_mode::signature(&[&sim.config.token, "1700000000", "42", &wire::envelope(&envelope).unwrap()]), &"0".repeat(40));
        assert!(sim.open_reply(&forged, "1700000000", "42").is_err());
    }

    #[test]
    fn a_qr_code_is_listed_while_live_and_encodes_the_phone_page() {
        let sim = Simulator::new().unwrap();
        sim.listening_on("127.0.0.1:8080".parse().unwrap());
        let qr = sim.qr_code("scene-1", 300);
        sim.qr_code("scene-2", 0);
        assert_eq!(qr.url, format!("http://127.0.0.1:8080/dev/wechat?scan={}", qr.ticket));
        let view = sim.view("o_dev");
        assert_eq!(view.qr_codes.len(), 1, "the expired one is not on screen");
        assert_eq!(view.qr_codes[0].ticket, qr.ticket);
        assert!(qr_svg(&qr.url).unwrap().starts_with("<?xml"));
        assert!(!view.following);
    }

    #[tokio::test]
    async fn a_scanned_qr_code_leaves_the_list_but_its_link_still_scans() {
        let sim = Simulator::new().unwrap();
        sim.listening_on("127.0.0.1:9".parse().unwrap());
        let qr = sim.qr_code("scene-1", 300);
        assert_eq!(sim.view("o_dev").qr_codes.len(), 1);
        // The callback is not listening here: the scan is recorded before the delivery fails.
        let _ = sim.act("o_dev", Action::Scan(qr.ticket.clone())).await;
        assert!(sim.view("o_dev").qr_codes.is_empty(), "a used code stays on the 扫一扫 list");
        assert_eq!(sim.view("o_other").qr_codes.len(), 1, "another phone still sees the page's code");
        assert_ne!(sim.act("o_dev", Action::Scan(qr.ticket)).await.err(), Some(PhoneError::UnknownQr), "its link still scans");
    }

    #[tokio::test]
    async fn the_menu_needs_a_follow_and_an_unknown_qr_code_is_refused() {
        let sim = Simulator::new().unwrap();
        sim.listening_on("127.0.0.1:9".parse().unwrap());
        assert_eq!(sim.act("o_dev", Action::Menu("GET_CODE".into())).await.unwrap_err(), PhoneError::NotFollowing);
        assert_eq!(sim.act("o_dev", Action::Scan("nope".into())).await.unwrap_err(), PhoneError::UnknownQr);
        // Nothing listens on port 9: the phone shows what WeChat shows when an account fails.
        let view = sim.act("o_dev", Action::Follow).await.unwrap();
        assert!(view.following);
        assert_eq!(view.lines.last().unwrap().text, UNAVAILABLE);
        sim.send_text("o_dev", "重置成功");
        assert_eq!(sim.view("o_dev").lines.last().unwrap().side, Side::Account);
    }
}
