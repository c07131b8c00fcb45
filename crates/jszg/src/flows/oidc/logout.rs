//! Logout everywhere (SSO-1): RP-initiated logout (OpenID Connect
//! RP-Initiated Logout 1.0) ends the jszg session, and every client the
//! session signed into that registered a `backchannel_logout_uri` gets a
//! logout token (Back-Channel Logout 1.0) through the outbox.

use crate::app::App;
use crate::error::AppResult;
use crate::flows::sessions::Current;
use crate::store::{oidc as store, sessions};

use super::{client, keys, with_params, IdTokenHint, Params};


/// What the end-session endpoint does.
pub enum Ended {
    /// Back to the client's registered post-logout URI.
    Redirect(String),
    /// No (valid) return address: show that the applicant is signed out.
    Page,
    /// Nothing proves the applicant's client asked (no `id_token_hint`): ask the applicant
    /// first (RP-Initiated Logout 1.0 §2), so a link on another site cannot sign them out.
    Confirm,
}

/// The end-session endpoint. Err is a message for an error page (an
/// unregistered return address is never redirected to).
pub async fn end_session(app: &App, params: &Params<'_>, current: Option<&Current>, confirmed: bool) -> AppResult<Result<Ended, &'static str>> {
    let bad = "退出登录的请求无效：返回地址未登记。请直接关闭页面或重新登录。";
    let (Ok(hint), Ok(client_id), Ok(return_to), Ok(state)) =
        (params.get("id_token_hint"), params.get("client_id"), params.get("post_logout_redirect_uri"), params.get("state"))
    else {
        return Ok(Err(bad));
    };
    let hint: Option<IdTokenHint> = match hint {
        Some(token) => match keys::verify_ours::<IdTokenHint>(app, token).await {
            Some(h) => Some(h),
            None => return Ok(Err("退出登录的请求无效：身份令牌无法验证。请直接关闭页面或重新登录。")),
        },
        None => None,
    };
    let client_id = match (client_id, hint.as_ref().map(|h| h.aud.as_str())) {
        (Some(a), Some(b)) if a != b => return Ok(Err(bad)),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    let target = match return_to {
        None => None,
        Some(uri) => {
            let registered =
                client_id.and_then(|id| client(app, id)).is_some_and(|(_, c)| c.post_logout_redirect_uris.iter().any(|u| u == uri));
            if !registered {
                return Ok(Err(bad));
            }
            Some(uri)
        }
    };
    if hint.is_none() && current.is_some() && !confirmed {
        return Ok(Ok(Ended::Confirm));
    }
    // End the browser's session and the one the hint names (it may be another browser's cookie jar).
    let mut ended: Vec<Vec<u8>> = Vec::new();
    if let Some(current) = current {
        ended.push(current.id_hash.clone());
    }
    if let Some(sid) = hint.as_ref().and_then(|h| h.sid.as_deref()) {
        if let Some(hash) = store::session_of(&app.db, sid).await? {
            if !ended.contains(&hash) {
                ended.push(hash);
            }
        }
    }
    for hash in &ended {
        super::backchannel::session_ended(app, hash).await?;
        sessions::delete(&app.db, hash).await?;
    }
    tracing::info!(sessions = ended.len(), "RP-initiated logout");
    Ok(Ok(match target {
        Some(uri) => Ended::Redirect(match state {
            Some(state) => with_params(uri, &[("state", state)]),
            None => uri.to_owned(),
        }),
        None => Ended::Page,
    }))
}
