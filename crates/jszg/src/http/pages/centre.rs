//! 个人信息中心 (PROF-3): tabs for the profile, real-name verification, the
//! password, the phone and the email. Plain HTML forms with a synchronizer
//! token, so they work without scripts; only code sending needs the slider.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use jszg_domain::{DocType, Ethnicity, PasswordAttempt, PasswordChoice};

use crate::app::App;
use crate::error::AppError;
use crate::flows::account_changes;
use crate::flows::profile::{self, Me, ProfileForm};
use crate::flows::sessions::{self, Current};
use crate::http::session::MaybeSignedIn;

pub fn router() -> Router<App> {
    Router::new()
        .route("/me", get(|| async { Redirect::to("/me/profile") }))
        .route("/me/profile", get(profile_page).post(profile_submit))
        .route("/me/password", get(password_page).post(password_submit))
        .route("/me/phone", get(phone_page).post(phone_submit))
        .route("/me/email", get(email_page).post(email_submit))
        .route("/me/data", get(data_page))
        .route("/me/upstream/unlink", axum::routing::post(upstream_unlink))
        .route("/me/wechat/unbind", axum::routing::post(wechat_unbind))
        .route("/me/contact-changes/{id}/withdraw", axum::routing::post(contact_change_withdraw))
}

/// 撤销 a contact change filed for this account (hardening round 2): the holder, signed in,
/// stops a request someone else may have filed.
async fn contact_change_withdraw(
    State(app): State<App>,
    MaybeSignedIn(current): MaybeSignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_token(&app, &current, &f) {
        return r;
    }
    match crate::flows::contact_change::withdraw_signed_in(&app, &current.applicant, &id).await {
        Ok(()) => Redirect::to("/me/profile?saved=contact_change").into_response(),
        Err(err) => err.into_response(),
    }
}

/// The banner of a pending contact change: its id and what to say.
pub struct PendingChange {
    pub id: String,
    pub text: String,
}

/// 解除绑定 of the WeChat service account (WX-3).
async fn wechat_unbind(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    confirmed(app, current, &f, "wechat", |app, id| async move { crate::flows::wechat::unbind(&app, id).await }).await
}

/// 解除关联 of the 教育部账号 (LOGIN-5).
async fn upstream_unlink(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    confirmed(app, current, &f, "upstream", |app, id| async move { crate::flows::upstream_login::unlink(&app, id).await }).await
}

/// A form that only confirms an action: signed in and its token checked, `act` runs on the
/// account, then the profile tab says `saved`.
async fn confirmed<F, Fut>(app: App, current: Option<Current>, f: &Fields, saved: &str, act: F) -> Response
where
    F: FnOnce(App, i64) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_token(&app, &current, f) {
        return r;
    }
    match act(app, current.applicant.id()).await {
        Ok(()) => Redirect::to(&format!("/me/profile?saved={saved}")).into_response(),
        Err(err) => err.into_response(),
    }
}

const TABS: [(&str, &str); 6] = [
    ("/me/profile", "修改个人信息"),
    ("/me/realname", "实名认证"),
    ("/me/password", "修改密码"),
    ("/me/phone", "修改手机号码"),
    ("/me/email", "修改邮箱"),
    ("/me/data", "我的数据"),
];

/// What every tab shows around its own content.
pub struct Centre {
    pub form_token: String,
    pub name: String,
    pub masked: String,
    pub tabs: &'static [(&'static str, &'static str)],
    pub active: &'static str,
    pub flash: Option<&'static str>,
    pub error: Option<String>,
}

impl Centre {
    pub fn new(app: &App, current: &Current, active: &'static str, saved: Option<&str>) -> Self {
        let flash = match saved {
            Some("profile") => Some("个人信息已保存。"),
            Some("password") => Some("密码修改成功，其他设备上的登录已自动退出。"),
            Some("phone") => Some("手机号码修改成功。"),
            Some("email") => Some("安全邮箱修改成功。"),
            Some("upstream") => Some("已解除与教育部账号的关联。"),
            Some("wechat") => Some("已解除与微信服务号的绑定。"),
            Some("contact_change") => Some("已撤销修改联系方式申请，账号绑定的联系方式保持不变。"),
            _ => None,
        };
        Self {
            form_token: sessions::form_token(app, &current.id_hash),
            name: current.applicant.row.name.clone(),
            masked: current.applicant.doc.masked(),
            tabs: &TABS,
            active,
            flash,
            error: None,
        }
    }
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("")
}

/// Signed in, or sent to the login page of the entry they came through.
#[allow(clippy::result_large_err)] // the error is the page to show
fn require(current: Option<Current>) -> Result<Current, Response> {
    current.ok_or_else(|| Redirect::to("/login/certification").into_response())
}

#[allow(clippy::result_large_err)] // the error is the page to show
fn check_token(app: &App, current: &Current, f: &Fields) -> Result<(), Response> {
    if sessions::form_token_ok(app, &current.id_hash, field(f, "form_token")) {
        Ok(())
    } else {
        Err(super::csrf_page())
    }
}

#[derive(serde::Deserialize)]
struct Saved {
    saved: Option<String>,
    /// Why the applicant was sent here (`profile_incomplete` from a business entry).
    why: Option<String>,
}

#[derive(Template)]
#[template(path = "centre_profile.html")]
struct ProfilePage {
    c: Centre,
    pending_change: Option<PendingChange>,
    captcha: bool,
    me: Me,
    derived: bool,
    sex_label: String,
    birth_label: String,
    ethnicities: Vec<(&'static str, &'static str)>,
    form_ethnicity: String,
    form_sex: String,
    form_birth: String,
    form_permit: String,
    form_local_id: String,
    asks_permit: bool,
    asks_local_id: bool,
    period_label: &'static str,
    today: String,
}

async fn render_profile(
    app: &App,
    current: &Current,
    saved: Option<&str>,
    submitted: Option<(&Fields, AppError)>,
    why: Option<&str>,
) -> Response {
    let me = match profile::me(app, &current.applicant).await {
        Ok(me) => me,
        Err(err) => return err.into_response(),
    };
    let a = &current.applicant;
    let pending_change = match crate::flows::contact_change::pending_of(app, a.id()).await {
        Ok(p) => p.map(|p| PendingChange {
            text: format!(
                "您的账号于{}提交了修改{}申请（新{}：{}），正在等待审核。如非本人操作，请立即撤销该申请并修改密码。",
                crate::clock::beijing_minutes(p.submitted_at),
                p.kind.label(),
                p.kind.label(),
                p.new_value_masked
            ),
            id: p.id,
        }),
        Err(err) => return err.into_response(),
    };
    let doc_type = a.doc_type();
    let derived = matches!(doc_type, DocType::ResidentId | DocType::HmtResidence);
    let mut c = Centre::new(app, current, "/me/profile", saved);
    let (form_ethnicity, form_sex, form_birth, form_permit, form_local_id) = match &submitted {
        Some((f, _)) => (
            field(f, "ethnicity").to_owned(),
            field(f, "sex").to_owned(),
            field(f, "birth_date").to_owned(),
            field(f, "permit_number").to_owned(),
            field(f, "local_id_number").to_owned(),
        ),
        None => (
            me.ethnicity.clone().unwrap_or_default(),
            a.sex().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            me.birth_date.clone().unwrap_or_default(),
            String::new(),
            String::new(),
        ),
    };
    if let Some((_, err)) = submitted {
        c.error = Some(err.message.into_owned());
    } else if why == Some("profile_incomplete") && !me.profile_complete {
        // Sent here from a business entry: say why (manual §2.3.1).
        c.error =
            Some("您的个人信息尚未完善。对于账号注册后首次登录的或个人信息没有完善的申请人，须先完善个人信息，再办理业务。".to_owned());
    }
    super::render(&ProfilePage {
        c,
        pending_change,
        captcha: false,
        derived,
        sex_label: a.sex().map(|s| s.label_zh().to_owned()).unwrap_or_default(),
        birth_label: me.birth_date.clone().unwrap_or_default(),
        ethnicities: Ethnicity::ALL.iter().map(|e| (e.code(), e.name_zh())).collect(),
        form_ethnicity,
        form_sex,
        form_birth,
        form_permit,
        form_local_id,
        asks_permit: doc_type == DocType::HmtResidence,
        asks_local_id: doc_type != DocType::ResidentId,
        period_label: a.validity().map(|v| v.period().label_zh()).unwrap_or(""),
        today: jszg_domain::format_date(app.clock.today()),
        me,
    })
}

async fn profile_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Query(q): Query<Saved>) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    render_profile(&app, &current, q.saved.as_deref(), None, q.why.as_deref()).await
}

async fn profile_submit(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_token(&app, &current, &f) {
        return r;
    }
    let opt = |name: &str| f.get(name).cloned().filter(|v| !v.trim().is_empty());
    let form = ProfileForm {
        ethnicity: opt("ethnicity"),
        sex: opt("sex"),
        birth_date: opt("birth_date"),
        local_id_number: opt("local_id_number"),
        permit_number: opt("permit_number"),
    };
    // Already-stored permit and local numbers need not be typed again.
    let form = keep_stored(&app, &current, form);
    match profile::update(&app, &current.applicant, &form).await {
        Ok(()) if current.applicant.realname().unlocks_business() => Redirect::to("/me/profile?saved=profile").into_response(),
        Ok(()) => Redirect::to("/me/realname?saved=profile").into_response(),
        Err(err) => render_profile(&app, &current, None, Some((&f, err)), None).await,
    }
}

fn keep_stored(app: &App, current: &Current, mut form: ProfileForm) -> ProfileForm {
    use crate::vault::Field;
    let row = &current.applicant.row;
    if form.local_id_number.is_none() {
        form.local_id_number = row.local_id_enc.as_deref().and_then(|v| app.vault.open_str(Field::LocalIdNumber, v).ok());
    }
    if form.permit_number.is_none() {
        form.permit_number = row.permit_number_enc.as_deref().and_then(|v| app.vault.open_str(Field::PermitNumber, v).ok());
    }
    form
}

#[derive(Template)]
#[template(path = "centre_password.html")]
struct PasswordPage {
    c: Centre,
    captcha: bool,
}

async fn password_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Query(q): Query<Saved>) -> Response {
    match require(current) {
        Ok(current) => super::render(&PasswordPage { c: Centre::new(&app, &current, "/me/password", q.saved.as_deref()), captcha: false }),
        Err(r) => r,
    }
}

async fn password_submit(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_token(&app, &current, &f) {
        return r;
    }
    let change = account_changes::PasswordChange {
        current: PasswordAttempt::new(field(&f, "current_password").to_owned()),
        new: PasswordChoice::new(field(&f, "new_password").to_owned(), field(&f, "new_password_confirm").to_owned()),
    };
    let result = account_changes::change_password(&app, &current.applicant, &current.id_hash, &change).await;
    match result {
        Ok(()) => Redirect::to("/me/password?saved=password").into_response(),
        Err(err) => {
            let mut c = Centre::new(&app, &current, "/me/password", None);
            c.error = Some(err.message.into_owned());
            super::render(&PasswordPage { c, captcha: false })
        }
    }
}

#[derive(Template)]
#[template(path = "centre_contact.html")]
struct ContactPage {
    c: Centre,
    captcha: bool,
    action: &'static str,
    channel: &'static str,
    field: &'static str,
    what: &'static str,
    current: String,
    value: String,
}

#[derive(Clone, Copy)]
enum Contact {
    Phone,
    Email,
}

impl Contact {
    fn tab(self) -> &'static str {
        match self {
            Contact::Phone => "/me/phone",
            Contact::Email => "/me/email",
        }
    }
}

async fn render_contact(
    app: &App,
    current: &Current,
    kind: Contact,
    saved: Option<&str>,
    value: &str,
    error: Option<AppError>,
) -> Response {
    let a = &current.applicant;
    let shown = match kind {
        Contact::Phone => a.phone(app).map(|p| p.map(|p| crate::flows::applicant::mask_phone(&p))),
        Contact::Email => a.email(app).map(|e| e.map(|e| crate::flows::applicant::mask_email(&e))),
    };
    let shown = match shown {
        Ok(s) => s.unwrap_or_default(),
        Err(err) => return err.into_response(),
    };
    let mut c = Centre::new(app, current, kind.tab(), saved);
    c.error = error.map(|e| e.message.into_owned());
    let (action, channel, field, what) = match kind {
        Contact::Phone => ("/me/phone", "sms", "phone", "手机号码"),
        Contact::Email => ("/me/email", "email", "email", "安全邮箱"),
    };
    super::render(&ContactPage { c, captcha: true, action, channel, field, what, current: shown, value: value.to_owned() })
}

async fn phone_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Query(q): Query<Saved>) -> Response {
    match require(current) {
        Ok(current) => render_contact(&app, &current, Contact::Phone, q.saved.as_deref(), "", None).await,
        Err(r) => r,
    }
}

async fn email_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Query(q): Query<Saved>) -> Response {
    match require(current) {
        Ok(current) => render_contact(&app, &current, Contact::Email, q.saved.as_deref(), "", None).await,
        Err(r) => r,
    }
}

async fn contact_submit(app: App, current: Option<Current>, f: Fields, kind: Contact) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_token(&app, &current, &f) {
        return r;
    }
    let code = field(&f, "verification_code");
    let (value, result) = match kind {
        Contact::Phone => {
            let v = field(&f, "phone");
            let change = account_changes::PhoneChange::parse(v, code);
            (v, async { account_changes::change_phone(&app, &current.applicant, &change?).await }.await)
        }
        Contact::Email => {
            let v = field(&f, "email");
            let change = account_changes::EmailChange::parse(v, code);
            (v, async { account_changes::change_email(&app, &current.applicant, &change?).await }.await)
        }
    };
    match result {
        Ok(()) => Redirect::to(&format!("{}?saved={}", kind.tab(), kind.tab().trim_start_matches("/me/"))).into_response(),
        Err(err) => render_contact(&app, &current, kind, None, value, Some(err)).await,
    }
}

async fn phone_submit(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    contact_submit(app, current, f, Contact::Phone).await
}

async fn email_submit(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Form(f): Form<Fields>) -> Response {
    contact_submit(app, current, f, Contact::Email).await
}

#[derive(Template)]
#[template(path = "centre_data.html")]
struct DataPage {
    c: Centre,
    captcha: bool,
    accesses: Vec<AccessRow>,
}

struct AccessRow {
    at: String,
    role: String,
    opened: String,
}

/// 我的数据 (PRIV-2): download everything as JSON, and every staff access.
async fn data_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn) -> Response {
    let current = match require(current) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let accesses = match crate::flows::my_data::access_log(&app, &current.applicant).await {
        Ok(list) => list,
        Err(err) => return err.into_response(),
    };
    let page = DataPage {
        c: Centre::new(&app, &current, "/me/data", None),
        captcha: false,
        accesses: accesses.into_iter().map(|a| AccessRow { at: crate::clock::beijing_seconds_at(a.at), role: a.role_label, opened: a.opened_label }).collect(),
    };
    ([(axum::http::header::CACHE_CONTROL, "no-store")], super::render(&page)).into_response()
}
