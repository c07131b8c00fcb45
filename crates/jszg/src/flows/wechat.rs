//! The service account's chat (WX-1, CODE-3): what jszg answers to what an applicant does in
//! 中国教师资格服务号.
//!
//! Each message or event is acted on once, however often the platform retries it. 取验证码 (the
//! menu item or the text) asks for the document number; the next text is taken as that number and
//! answered with a registration code: 6 digits, 5 minutes, at most 3 per number per Beijing day
//! (the quota table SMS codes use, one atomic statement), and at most 10 requests per WeChat per
//! hour. A QR code from the personal centre binds the WeChat that scans it to the account (WX-3);
//! one from the recovery page, scanned by the bound WeChat, gets a reset link (REC-2c).

use jszg_domain::{DocNumber, DocType};

use crate::adapters::wechat::wire::{Event, Inbound};
use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::codes;
use crate::store::{self, audit, Tx};
use crate::vault::Field;

pub use crate::adapters::wechat::{GET_CODE_KEY, GET_CODE_TEXT};
/// How long the chat waits for the document number.
pub const AWAIT_SECONDS: i64 = 600;
/// Code requests per WeChat per hour, whatever the numbers typed.
pub const OPENID_HOURLY_LIMIT: i64 = 10;

const AWAIT_DOC_NUMBER: &str = "doc_number";

/// The reply to a message: `None` when there is nothing to say (a retry, an unfollow).
pub async fn receive(app: &App, message: &Inbound) -> AppResult<Option<String>> {
    let key = app.vault.mac(&[b"wechat_delivery", message.dedup_key().as_bytes()]);
    if !store::wechat::first_delivery(&app.db, &key, app.clock.unix()).await? {
        tracing::debug!("wechat retry answered without acting");
        return Ok(None);
    }
    let openid_hash = app.vault.lookup(Field::Wechat, &message.openid);
    // GM-1: `jszg keys rotate` rehashes bindings from their sealed openid; until it has, a
    // message moves its own.
    if let Some(previous) = app.vault.previous_lookup(Field::Wechat, &message.openid) {
        crate::store::rehash::move_key(&app.db, crate::store::rehash::Keyed::WechatBindings, &previous, &openid_hash).await?;
    }
    let site = app.config.public_url();
    Ok(Some(match &message.event {
        Event::Unsubscribe => return Ok(None),
        Event::Subscribe { scene: None } => {
            format!("感谢关注中国教师资格服务号！\n注册时选择“微信扫码验证”的，请点击下方菜单“取验证码”，或发送“{GET_CODE_TEXT}”。\n中国教师资格网：{site}")
        }
        Event::Subscribe { scene: Some(scene) } | Event::Scan { scene } => scanned(app, &message.openid, &openid_hash, scene).await?,
        Event::Click { key } if key == GET_CODE_KEY => ask_number(app, &openid_hash).await?,
        Event::Text { content, .. } if content == GET_CODE_TEXT => ask_number(app, &openid_hash).await?,
        Event::Text { content, .. } => {
            match store::wechat::awaiting(&app.db, &openid_hash, app.clock.unix()).await?.as_deref() {
                Some(AWAIT_DOC_NUMBER) => code_for(app, &message.openid, &openid_hash, content).await?,
                _ => help(&site),
            }
        }
        Event::Click { .. } | Event::Other { .. } => help(&site),
    }))
}

fn help(site: &str) -> String {
    format!("您好，本服务号用于中国教师资格网账号的验证与找回。获取注册验证码请发送“{GET_CODE_TEXT}”。\n中国教师资格网：{site}")
}

async fn ask_number(app: &App, openid_hash: &[u8]) -> AppResult<String> {
    store::wechat::await_input(&app.db, openid_hash, AWAIT_DOC_NUMBER, app.clock.unix() + AWAIT_SECONDS).await?;
    Ok("请输入您注册时填写的证件号码（如身份证号码），以获取注册验证码。".to_owned())
}

/// The number typed as any document type's number, in the order of the registration form.
fn document_number(app: &App, raw: &str) -> Result<DocNumber, String> {
    let today = app.clock.today();
    let mut first_error = None;
    for doc_type in DocType::ALL {
        match DocNumber::parse(doc_type, raw, today) {
            Ok(doc) => return Ok(doc),
            Err(err) => {
                first_error.get_or_insert(err.to_string());
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

async fn code_for(app: &App, openid: &str, openid_hash: &[u8], raw: &str) -> AppResult<String> {
    let doc = match document_number(app, raw) {
        Ok(doc) => doc,
        // Still waiting: the applicant types the number again.
        Err(why) => return Ok(format!("证件号码有误：{why}\n请重新输入证件号码。")),
    };
    let (hits, _) = store::throttles::hit(&app.db, "wechat_code_openid", openid_hash, app.clock.unix(), 3600).await?;
    if hits > OPENID_HOURLY_LIMIT {
        return Ok("获取验证码过于频繁，请1小时后再试。".to_owned());
    }
    store::wechat::clear_chat(&app.db, openid_hash).await?;
    Ok(match codes::issue_in_chat(app, &doc, openid).await {
        Ok(code) => format!(
            "您的注册验证码为{code}（证件号码{}），5分钟内有效。请在注册页面填写，切勿将验证码告诉他人。",
            doc.masked()
        ),
        Err(err) if err.code == ErrorCode::DailyLimit => err.message.into_owned(),
        Err(err) => return Err(err),
    })
}

/// How long a QR code of ours lives.
pub const QR_SECONDS: u64 = 300;
const QR_EXPIRED: &str = "二维码已失效，请刷新网页上的二维码后重新扫描。";

/// A temporary QR code for a page: `qr_url` is its picture.
pub struct Qr {
    pub id: String,
    pub qr_url: String,
    pub expires_in: u64,
}

fn scene_hash(app: &App, scene: &str) -> Vec<u8> {
    app.vault.mac(&[b"wechat_scene", scene.as_bytes()])
}

fn unavailable() -> AppError {
    AppError::new(ErrorCode::WechatUnavailable, "微信服务暂时不可用，请稍后重试。")
}

/// WX-3: a QR code that binds the WeChat scanning it to this account.
pub async fn binding_qr(app: &App, account_id: i64) -> AppResult<Qr> {
    qr(app, "bind", account_id).await
}

/// REC-2c: a QR code that, scanned by the account's bound WeChat, gets a reset link in the chat.
pub async fn reset_qr(app: &App, account_id: i64) -> AppResult<Qr> {
    qr(app, "reset", account_id).await
}

/// How long a reset link sent in the chat lives.
pub const RESET_LINK_SECONDS: i64 = 600;

pub fn reset_token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"wechat_reset", token.as_bytes()])
}

async fn qr(app: &App, purpose: &'static str, account_id: i64) -> AppResult<Qr> {
    // Without a service account the feature does not exist here: nothing is wrong with the server.
    let Some(account) = app.wechat.as_deref() else {
        return Err(AppError::new(ErrorCode::WechatNotConfigured, "本站未开通微信服务号功能，请选择其他方式。"))
    };
    // QR_STR_SCENE takes up to 64 characters; the scene is the secret, so only its hash is kept.
    let scene = random_token(24);
    let public_id = random_token(12);
    let ticket = account.platform.qr_code(&scene, QR_SECONDS).await.map_err(|err| {
        tracing::warn!(%err, "wechat QR code refused");
        unavailable()
    })?;
    let lifetime = ticket.expire_seconds.clamp(1, QR_SECONDS);
    store::wechat::put_scene(
        &app.db,
        store::wechat::NewScene {
            scene_hash: &scene_hash(app, &scene),
            public_id: &public_id,
            purpose,
            account_id,
            expires_at: app.clock.unix() + i64::try_from(lifetime).unwrap_or(0),
        },
    )
    .await?;
    Ok(Qr { id: public_id, qr_url: account.platform.qr_image_url(&ticket.ticket), expires_in: lifetime })
}

async fn log(tx: &mut Tx, app: &App, account_id: i64, action: &str) -> AppResult<()> {
    let entry = audit::Entry::by_applicant(app.clock.unix(), account_id, action, "");
    audit::append(tx, &app.vault, entry).await?;
    Ok(())
}

/// One of our QR codes was scanned by `openid`.
async fn scanned(app: &App, openid: &str, openid_hash: &[u8], scene: &str) -> AppResult<String> {
    let now = app.clock.unix();
    let mut tx = app.db.begin().await?;
    let Some((purpose, account_id)) = store::wechat::take_scene(&mut tx, &scene_hash(app, scene), now).await? else {
        tx.rollback().await?;
        return Ok(QR_EXPIRED.to_owned());
    };
    match purpose.as_str() {
        "bind" => {
            let sealed = app.vault.seal_str(Field::Wechat, openid);
            if !store::wechat::bind(&mut tx, account_id, openid_hash, &sealed, now).await? {
                // The QR code stays usable: the applicant may unbind the other account and scan again.
                tx.rollback().await?;
                return Ok("该微信已绑定其他中国教师资格网账号。如需绑定本账号，请先登录原账号，在个人中心解除绑定后重新扫描。".to_owned());
            }
            log(&mut tx, app, account_id, "wechat_bind").await?;
            tx.commit().await?;
            Ok("绑定成功！您的中国教师资格网账号已与本微信绑定。".to_owned())
        }
        "reset" => {
            if store::wechat::account_of(&mut tx, openid_hash).await? != Some(account_id) {
                // The QR code stays usable for the bound WeChat.
                tx.rollback().await?;
                return Ok("您当前使用的微信不是该账号绑定的微信，无法通过微信重置密码。请使用绑定的微信扫码，或选择其他方式重置密码。".to_owned());
            }
            let token = random_token(24);
            store::wechat::insert_reset(&mut tx, &reset_token_hash(app, &token), account_id, openid_hash, now + RESET_LINK_SECONDS).await?;
            tx.commit().await?;
            let link = format!("{}/wechat/reset?token={token}", app.config.public_url());
            Ok(format!("重置密码：请点击以下链接设置新密码（10分钟内有效，仅可使用一次）。\n{link}\n如非本人操作，请忽略本消息。"))
        }
        _ => {
            tx.rollback().await?;
            Ok(QR_EXPIRED.to_owned())
        }
    }
}

/// WX-3: remove the account's binding (nothing to do when there is none).
pub async fn unbind(app: &App, account_id: i64) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    if store::wechat::unbind(&mut tx, account_id).await? {
        log(&mut tx, app, account_id, "wechat_unbind").await?;
    }
    tx.commit().await?;
    Ok(())
}
