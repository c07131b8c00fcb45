//! 登录, 退出, 修改密码: the staff member's own session and password.

use jszg_domain::PasswordAttempt;

use super::*;

#[derive(Template)]
#[template(path = "staff_login.html")]
pub(super) struct LoginView {
    chrome: Option<Chrome>,
    dev: bool,
    username: String,
    error: Option<String>,
}

pub(super) async fn login_page(State(app): State<App>, MaybeStaff(current): MaybeStaff) -> Response {
    if current.is_some() {
        return Redirect::to("/staff").into_response();
    }
    super::super::render(&LoginView { chrome: None, dev: app.dev, username: String::new(), error: None })
}

/// A login form posted from another site (login CSRF) is refused by
/// `refuse_cross_site_login` on the route.
pub(super) async fn login_submit(State(app): State<App>, Form(f): Form<Fields>) -> Response {
    let username = field(&f, "username").trim().to_owned();
    let totp = Some(field(&f, "totp")).filter(|t| !t.trim().is_empty());
    match staff::sign_in(&app, &username, field(&f, "password"), totp).await {
        Ok(token) => ([(header::SET_COOKIE, staff_cookie(&app, &token))], Redirect::to("/staff")).into_response(),
        Err(err) => {
            if let Some(source) = &err.source {
                tracing::error!(code = err.code.as_str(), cause = %source, "staff sign-in failed");
            }
            let view = LoginView { chrome: None, dev: app.dev, username, error: Some(err.message.into_owned()) };
            (err.status, super::super::render(&view)).into_response()
        }
    }
}

pub(super) async fn logout(State(app): State<App>, headers: HeaderMap, MaybeStaff(current): MaybeStaff, Form(f): Form<Fields>) -> Response {
    let Some(me) = current else { return Redirect::to("/staff/login").into_response() };
    if !token_ok(&app, &me, &f) {
        return super::super::csrf_page();
    }
    if let Some(token) = cookie(&headers, staff::COOKIE) {
        if let Err(err) = staff::sign_out(&app, token).await {
            return error_page(err);
        }
    }
    ([(header::SET_COOKIE, clear_staff_cookie(&app))], Redirect::to("/staff/login")).into_response()
}

#[derive(Template)]
#[template(path = "staff_password.html")]
pub(super) struct PasswordView {
    chrome: Option<Chrome>,
    error: Option<String>,
}

pub(super) async fn password_page(State(app): State<App>, MaybeStaff(current): MaybeStaff) -> Response {
    match require(current) {
        Ok(me) => super::super::render(&PasswordView { chrome: Some(Chrome::new(&app, &me, "password")), error: None }),
        Err(r) => r.into_response(),
    }
}

pub(super) async fn password_submit(State(app): State<App>, MaybeStaff(current): MaybeStaff, Form(f): Form<Fields>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    if !token_ok(&app, &me, &f) {
        return super::super::csrf_page();
    }
    let new = field(&f, "new_password");
    let result = if new != field(&f, "new_password_confirm") {
        Err(AppError::invalid(ErrorCode::PasswordMismatch, "new_password_confirm", "两次输入的新密码不一致，请重新输入。"))
    } else {
        match staff::StaffPassword::parse(new) {
            Ok(new) => staff::change_password(&app, &me, &PasswordAttempt::new(field(&f, "current_password").to_owned()), &new).await,
            Err(err) => Err(err),
        }
    };
    match result {
        Ok(()) => Redirect::to("/staff?flash=password").into_response(),
        Err(err) if err.status.is_server_error() => error_page_for(err, Some(Chrome::new(&app, &me, "password"))),
        Err(err) => {
            let view = PasswordView { chrome: Some(Chrome::new(&app, &me, "password")), error: Some(err.message.into_owned()) };
            (err.status, super::super::render(&view)).into_response()
        }
    }
}
