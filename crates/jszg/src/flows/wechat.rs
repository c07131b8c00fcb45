//! The service account's chat (WX-1): what jszg answers to what an applicant does in 中国教师资格服务号.
//!
//! Each message or event is acted on once, however often the platform retries it. Codes in the
//! chat (CODE-3), binding (WX-3) and reset (REC-2c) build on this; until they exist the chat says
//! plainly what works.

use crate::adapters::wechat::wire::{Event, Inbound};
use crate::app::App;
use crate::error::AppResult;
use crate::store;

/// The menu item 取验证码.
pub const GET_CODE_KEY: &str = "GET_CODE";

/// The reply to a message: `None` when there is nothing to say (a retry, an unfollow).
pub async fn receive(app: &App, message: &Inbound) -> AppResult<Option<String>> {
    let key = app.vault.mac(&[b"wechat_delivery", message.dedup_key().as_bytes()]);
    if !store::wechat::first_delivery(&app.db, &key, app.clock.unix()).await? {
        tracing::debug!("wechat retry answered without acting");
        return Ok(None);
    }
    Ok(reply_to(app, &message.event))
}

fn reply_to(app: &App, event: &Event) -> Option<String> {
    let site = app.config.public_url();
    Some(match event {
        Event::Unsubscribe => return None,
        Event::Subscribe { scene: None } => format!("感谢关注中国教师资格服务号！\n中国教师资格网：{site}"),
        // No QR code of ours is live yet: whatever was scanned has expired.
        Event::Subscribe { scene: Some(_) } | Event::Scan { .. } => "二维码已失效，请刷新网页上的二维码后重新扫描。".to_owned(),
        Event::Click { key } if key == GET_CODE_KEY => codes_not_open(),
        Event::Text { content, .. } if content == "取验证码" => codes_not_open(),
        Event::Text { .. } | Event::Click { .. } | Event::Other { .. } => {
            format!("您好，本服务号用于中国教师资格网账号的验证与找回。请访问中国教师资格网：{site}")
        }
    })
}

fn codes_not_open() -> String {
    "微信获取验证码功能暂未开通，请在注册页面选择“短信验证”获取验证码。".to_owned()
}
