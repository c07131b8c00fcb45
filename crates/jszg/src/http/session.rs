//! Session cookies and the extractors that resolve them.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::app::App;
use crate::error::{AppError, ErrorCode};
use crate::flows::sessions::{self, Current, COOKIE};

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// What RFC 6265 does not allow in a cookie value (controls, space, `"`, `,`, `;`, `\`, and
/// everything beyond ASCII) is percent-encoded, so every `Set-Cookie` built here is a valid
/// header. The values set are tokens and ids, which pass unchanged.
const NOT_COOKIE_OCTET: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b',').add(b';').add(b'\\').add(b'%');

/// An HttpOnly cookie, Secure outside development mode (which runs on
/// plain loopback HTTP).
fn build(app: &App, name: &'static str, value: &str, same_site: &'static str, max_age: i64) -> HeaderValue {
    set_cookie(name, value, same_site, max_age, !app.dev)
}

fn set_cookie(name: &'static str, value: &str, same_site: &'static str, max_age: i64, secure: bool) -> HeaderValue {
    let value = utf8_percent_encode(value, NOT_COOKIE_OCTET);
    let secure = if secure { "; Secure" } else { "" };
    // Names and attributes are constants of this file and the value is encoded above: the
    // header is visible ASCII, which HeaderValue always takes. Should that ever change, the
    // cookie is cleared rather than a header left empty.
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("jszg_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"))
}

/// `Set-Cookie` for a new applicant session (SameSite=Lax).
pub fn session_cookie(app: &App, token: &str) -> HeaderValue {
    build(app, COOKIE, token, "Lax", app.config.sessions.absolute_secs)
}

/// `Set-Cookie` for a short-lived helper cookie (SameSite=Lax, so the
/// upstream provider's redirect back carries it); `max_age` 0 clears it.
pub fn lax_cookie(app: &App, name: &'static str, value: &str, max_age: i64) -> HeaderValue {
    build(app, name, value, "Lax", max_age)
}

/// `Set-Cookie` for the pending authorization of the OpenID Connect flow.
pub fn pending_cookie(app: &App, id: &str, max_age: i64) -> HeaderValue {
    build(app, crate::flows::oidc::PENDING_COOKIE, id, "Lax", max_age)
}

pub fn clear_session_cookie(app: &App) -> HeaderValue {
    build(app, COOKIE, "", "Lax", 0)
}

/// A signed-in applicant; 401 `not_logged_in` otherwise.
pub struct SignedIn(pub Current);

/// A signed-in applicant, if there is one.
pub struct MaybeSignedIn(pub Option<Current>);

impl FromRequestParts<App> for MaybeSignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match cookie(&parts.headers, COOKIE) {
            Some(token) => Ok(MaybeSignedIn(sessions::resolve(app, token).await?)),
            None => Ok(MaybeSignedIn(None)),
        }
    }
}

impl FromRequestParts<App> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match MaybeSignedIn::from_request_parts(parts, app).await? {
            MaybeSignedIn(Some(current)) => Ok(SignedIn(current)),
            MaybeSignedIn(None) => Err(not_logged_in()),
        }
    }
}

pub fn not_logged_in() -> AppError {
    AppError::new(ErrorCode::NotLoggedIn, "您尚未登录或登录已超时，请重新登录。")
}

/// A signed-in staff member (cookie `jszg_staff`) who may work: 401 without a session (an
/// applicant's session is no staff session, whatever it carries); in production 403
/// `password_change_required` while the printed initial password is still in use (API.md "Staff").
pub struct StaffSignedIn(pub crate::flows::staff::StaffCurrent);

/// A signed-in staff member, initial password or not: for changing that password.
pub struct StaffWithAnyPassword(pub crate::flows::staff::StaffCurrent);

async fn staff_session(parts: &Parts, app: &App) -> Result<crate::flows::staff::StaffCurrent, AppError> {
    let token = cookie(&parts.headers, crate::flows::staff::COOKIE).unwrap_or("");
    crate::flows::staff::resolve(app, token)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotLoggedIn, "请先以工作人员身份登录审核系统。"))
}

impl FromRequestParts<App> for StaffSignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let current = staff_session(parts, app).await?;
        current.ready(app)?;
        Ok(StaffSignedIn(current))
    }
}

impl FromRequestParts<App> for StaffWithAnyPassword {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(StaffWithAnyPassword(staff_session(parts, app).await?))
    }
}

/// `Set-Cookie` for a staff session: stricter than applicants' (SameSite=Strict).
pub fn staff_cookie(app: &App, token: &str) -> HeaderValue {
    build(app, crate::flows::staff::COOKIE, token, "Strict", crate::flows::staff::SESSION_ABSOLUTE)
}

pub fn clear_staff_cookie(app: &App) -> HeaderValue {
    build(app, crate::flows::staff::COOKIE, "", "Strict", 0)
}

#[cfg(test)]
mod tests {
    use super::set_cookie;

    #[test]
    fn every_set_cookie_is_a_whole_header_whatever_the_value() {
        let token = set_cookie("jszg_session", "AbC-12_xyz", "Lax", 60, true);
        assert_eq!(token.to_str().ok(), Some("jszg_session=AbC-12_xyz; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"));
        for odd in ["a;b", "a b", "中文", "a\r\nSet-Cookie: x=y", "\"", "a,b", "50%"] {
            let header = set_cookie("jszg_upstream", odd, "Lax", 0, false);
            let text = header.to_str().unwrap_or("");
            assert!(text.starts_with("jszg_upstream=") && text.ends_with("Max-Age=0"), "{odd:?} gave {text:?}");
            assert!(!text.contains('\n') && text.matches(';').count() == 4, "{odd:?} gave {text:?}");
        }
    }
}

