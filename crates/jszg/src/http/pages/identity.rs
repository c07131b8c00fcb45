//! 实名认证 tab (RN-2..6), the 人工审核 application page (MR-1..4) and the
//! 《居民身份证网上功能凭证开通指南》 (RN-5). The pages render what the
//! applicant sees; their scripts call `/api/v1/me/realname` and
//! `/api/v1/me/reviews`.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use jszg_domain::DocType;

use crate::app::App;
use crate::flows::applicant::RealnameStatus;
use crate::flows::profile::{self, Me};
use crate::flows::realname::DAILY_ATTEMPTS;
use crate::flows::reviews::{self, PERIOD_LIMIT};
use crate::http::session::MaybeSignedIn;

use super::centre::Centre;

pub fn router() -> Router<App> {
    Router::new().route("/me/realname", get(realname_page)).route("/me/review", get(review_page)).route("/guide/ctid", get(ctid_guide))
}

/// Where a visitor without a session goes.
fn to_login() -> Response {
    Redirect::to("/login/certification").into_response()
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

/// The decision reason of the latest review, when the summary carries one.
fn decision_reason(me: &Me) -> Option<String> {
    me.realname.review.as_ref().and_then(|r| r.decision_reason.clone())
}

/// Applications left in the current review period (MR-2).
fn remaining_in_period(me: &Me) -> i64 {
    me.realname.review.as_ref().map_or(PERIOD_LIMIT, |r| r.remaining_in_period)
}

#[derive(Template)]
#[template(path = "centre_realname.html")]
struct RealnamePage {
    c: Centre,
    captcha: bool,
    me: Me,
    status: &'static str,
    status_text: String,
    pending: bool,
    resident: bool,
    doc_type: &'static str,
    /// Another self-check makes sense (not verified, approved or pending): only then are
    /// today's attempts and a failed one shown.
    can_try: bool,
    remaining: i64,
    used_today: i64,
    /// Today's attempts all failed (a success would have made the status `verified`).
    failed_today: bool,
    /// 申请人工审核 is on offer: not verified, nothing pending, quota left in the period.
    can_review: bool,
    review_remaining: i64,
}

async fn realname_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn, Query(q): Query<Saved>) -> Response {
    let Some(current) = current else {
        return to_login();
    };
    let me = match profile::me(&app, &current.applicant).await {
        Ok(me) => me,
        Err(err) => return err.into_response(),
    };
    let status = current.applicant.realname();
    let reason = decision_reason(&me);
    let remaining = me.realname.remaining_today;
    let used_today = (DAILY_ATTEMPTS - remaining).max(0);
    let can_try = matches!(status, RealnameStatus::None | RealnameStatus::ReviewRejected);
    // The current state, not today's history: after an approved review the morning's failed
    // check is no longer news (it stays in 我的数据 and the audit log).
    let failed_today = used_today > 0 && can_try;
    let review_remaining = remaining_in_period(&me);
    let mut status_text = reviews::status_text(status, reason.as_deref());
    if failed_today && status == RealnameStatus::None {
        status_text = "实名认证不通过。".to_owned();
    }
    super::render(&RealnamePage {
        c: Centre::new(&app, &current, "/me/realname", q.saved.as_deref()),
        captcha: false,
        status: status.as_str(),
        status_text,
        pending: status == RealnameStatus::ReviewPending,
        resident: current.applicant.doc_type() == DocType::ResidentId,
        doc_type: current.applicant.doc_type().as_str(),
        can_try,
        remaining,
        used_today,
        failed_today,
        can_review: matches!(status, RealnameStatus::None | RealnameStatus::ReviewRejected) && review_remaining > 0,
        review_remaining,
        me,
    })
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    me: Me,
    pending: bool,
    periods: Vec<(&'static str, &'static str)>,
    period: String,
    start: String,
    today: String,
    remaining: i64,
    photo_label: &'static str,
}

async fn review_page(State(app): State<App>, MaybeSignedIn(current): MaybeSignedIn) -> Response {
    let Some(current) = current else {
        return to_login();
    };
    let a = &current.applicant;
    let me = match profile::me(&app, a).await {
        Ok(me) => me,
        Err(err) => return err.into_response(),
    };
    let doc_type = a.doc_type();
    let (period, start) = match &me.validity {
        Some(v) => (v.period.clone(), v.start.clone()),
        None => (String::new(), String::new()),
    };
    super::render(&ReviewPage {
        pending: a.realname() == RealnameStatus::ReviewPending,
        periods: doc_type.allowed_periods().iter().map(|p| (p.as_str(), p.label_zh())).collect(),
        period,
        start,
        today: jszg_domain::format_date(app.clock.today()),
        remaining: remaining_in_period(&me),
        photo_label: if doc_type == DocType::ResidentId { "身份证" } else { "证件" },
        me,
    })
}

#[derive(Template)]
#[template(path = "guide_ctid.html")]
struct CtidGuide;

async fn ctid_guide() -> Response {
    super::render(&CtidGuide)
}
