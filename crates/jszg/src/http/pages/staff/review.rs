//! 审核详情, 照片, 审核决定: one item with its evidence, and the decision form.

use super::*;
use crate::flows::applicant::Entry;
use crate::flows::contact_change::ContactKind;
use crate::flows::ownership_claims::AuthorityAnswer;
use crate::flows::staff::Submitted;

pub(super) struct Line {
    label: &'static str,
    value: String,
    differs: bool,
}

pub(super) fn line(label: &'static str, value: impl Into<String>) -> Line {
    Line { label, value: value.into(), differs: false }
}

pub(super) struct PhotoView {
    url: String,
    caption: &'static str,
}

pub(super) struct HistoryRow {
    kind: &'static str,
    submitted_at: String,
    status: &'static str,
    reason: String,
    decision_reason: String,
    decided_at: String,
}

#[derive(Template)]
#[template(path = "staff_review.html")]
pub(super) struct ReviewView {
    chrome: Option<Chrome>,
    id: String,
    kind: &'static str,
    kind_label: &'static str,
    status: String,
    status_label: &'static str,
    pending: bool,
    submitted_at: String,
    due_date: String,
    left: String,
    overdue: bool,
    applicant: String,
    submitted_title: &'static str,
    current_title: &'static str,
    submitted: Vec<Line>,
    current: Vec<Line>,
    reason: String,
    decision_reason: String,
    photos: Vec<PhotoView>,
    /// Beijing time of the deletion, when the retention rule removed the photos.
    photos_deleted: Option<String>,
    history: Vec<HistoryRow>,
    reasons: &'static [&'static str],
    error: Option<String>,
    claim: Option<ClaimPanel>,
}

/// An ownership claim's evidence: the authority's answer and the holder's history.
pub(super) struct ClaimPanel {
    authority: &'static str,
    authority_class: &'static str,
    checked_at: String,
    registered_at: String,
    archived_at: String,
    realname: &'static str,
    logins: Vec<String>,
    enrollments: Vec<&'static str>,
}

pub(super) fn claim_panel(c: &staff::ClaimEvidence) -> ClaimPanel {
    let (authority, authority_class) = match c.authority.answer {
        AuthorityAnswer::Match => ("一致：身份核验机构确认申诉人姓名与该证件号码相符", "good"),
        AuthorityAnswer::Mismatch => ("不一致：身份核验机构记录的姓名与申诉人姓名不符", "bad"),
        AuthorityAnswer::Unavailable => ("未能核验：身份核验服务暂时不可用", "warn"),
    };
    let holder = c.holder.as_ref();
    ClaimPanel {
        authority,
        authority_class,
        checked_at: beijing(c.authority.checked_at),
        registered_at: holder.map(|h| beijing(h.registered_at)).unwrap_or_default(),
        archived_at: holder.and_then(|h| h.archived_at).map(beijing).unwrap_or_default(),
        realname: holder.map_or(RealnameStatus::None, |h| h.realname_status).label_zh(),
        logins: holder
            .map(|h| {
                h.last_logins
                    .iter()
                    .map(|(at, entry)| {
                        let entry = match entry {
                            Some(Entry::Renewal) => "定期注册入口",
                            _ => "认定入口",
                        };
                        format!("{}（{entry}）", beijing(*at))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        enrollments: holder.map(|h| h.enrollments.iter().map(|e| e.business_name()).collect()).unwrap_or_default(),
    }
}

pub(super) fn current_lines(me: &Me, doc_number: &str) -> Vec<Line> {
    let (period, start, end) = match &me.validity {
        Some(v) => (v.period.as_str(), v.start.as_str(), v.end.as_deref()),
        None => ("", "", None),
    };
    vec![
        line("证件类型", me.doc_type_label.clone()),
        line("证件号码", doc_number.to_owned()),
        line("姓名", me.name.clone()),
        line("证件有效期", validity_text(period, start, end)),
        line("性别", me.sex.map(|s| s.label_zh()).unwrap_or("")),
        line("出生日期", me.birth_date.clone().unwrap_or_default()),
        line("民族", me.ethnicity_name.clone().unwrap_or_default()),
        line("手机号码", me.phone_masked.clone().unwrap_or_default()),
        line("安全邮箱", me.email_masked.clone().unwrap_or_default()),
        line("实名认证状态", me.realname.status.label_zh()),
    ]
}

pub(super) fn submitted_lines(submitted: &Submitted, me: &Me) -> Vec<Line> {
    let current_validity = || me.validity.as_ref().map(|v| validity_text(&v.period, &v.start, v.end.as_deref())).unwrap_or_default();
    match submitted {
        Submitted::Identity(c) => {
            let validity = validity_text(&c.validity_period, &c.validity_start, c.validity_end.as_deref());
            vec![
                Line { label: "姓名", differs: c.name != me.name, value: c.name.clone() },
                Line { label: "证件有效期", differs: validity != current_validity(), value: validity },
            ]
        }
        Submitted::OwnershipClaim(c) => {
            let validity = validity_text(&c.validity_period, &c.validity_start, c.validity_end.as_deref());
            vec![
                line("证件类型", doc_type_label(&c.doc_type)),
                line("证件号码", c.doc_number.clone()),
                Line { label: "姓名", differs: c.name != me.name, value: c.name.clone() },
                Line { label: "证件有效期", differs: validity != current_validity(), value: validity },
                line("手机号码", c.phone_masked.clone()),
                line("安全邮箱", c.email_masked.clone()),
            ]
        }
        Submitted::ContactChange(r) => {
            let (what, current) = match r.kind {
                ContactKind::Email => ("修改邮箱地址", me.email_masked.clone().unwrap_or_default()),
                ContactKind::Phone => ("修改手机号码", me.phone_masked.clone().unwrap_or_default()),
            };
            vec![line("申请类型", what), line("新的联系方式", r.new_value.clone()), line("当前联系方式", current)]
        }
    }
}

pub(super) fn photo_caption(slot: &str) -> &'static str {
    match slot {
        "front" => "证件正面（A面）",
        "back" => "证件背面（B面）",
        _ => "手持证件照",
    }
}

pub(super) async fn render_review(app: &App, me: &StaffCurrent, id: &str, error: Option<AppError>) -> Response {
    let chrome = Chrome::new(app, me, "queue");
    let d = match staff::detail(app, me, id).await {
        Ok(d) => d,
        Err(err) => return error_page_for(err, Some(chrome)),
    };
    let kind = d.item.kind;
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let view = ReviewView {
        chrome: Some(chrome),
        kind: kind.as_str(),
        kind_label: kind_label(kind),
        status_label: status_label(d.item.status),
        pending: d.item.status == Status::Pending,
        left: days_left_text(d.item.status, d.item.overdue, d.item.working_days_left),
        overdue: d.item.overdue,
        submitted_at: beijing(d.item.submitted_at),
        due_date: jszg_domain::format_date(d.item.due_date),
        applicant: format!("{}（{} {}）", d.item.name, d.item.doc_type.label_zh(), d.item.doc_number_masked),
        submitted_title: if kind == Kind::OwnershipClaim { "申诉人提交的信息" } else { "申请提交的信息" },
        current_title: if kind == Kind::OwnershipClaim { "现账号持有人的信息" } else { "当前账号信息" },
        claim: d.claim.as_ref().map(claim_panel),
        submitted: submitted_lines(&d.submitted, &d.profile),
        current: current_lines(&d.profile, &d.doc_number),
        reason: d.reason.clone(),
        decision_reason: d.decision_reason.clone().unwrap_or_default(),
        photos: d
            .photos
            .iter()
            .map(|slot| PhotoView { url: format!("/staff/reviews/{}/photos/{slot}", d.item.id), caption: photo_caption(slot) })
            .collect(),
        photos_deleted: d.photos_deleted_at.map(beijing),
        history: d
            .history
            .iter()
            .map(|h| HistoryRow {
                kind: kind_label(h.kind),
                submitted_at: beijing(h.submitted_at),
                status: status_label(h.status),
                reason: h.reason.clone(),
                decision_reason: h.decision_reason.clone().unwrap_or_default(),
                decided_at: h.decided_at.map(beijing).unwrap_or_default(),
            })
            .collect(),
        reasons: &COMMON_REASONS,
        error: error.map(|e| e.message.into_owned()),
        status: d.item.status.as_str().to_owned(),
        id: d.item.id,
    };
    (status, super::super::render(&view)).into_response()
}

pub(super) async fn detail_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path(id): Path<String>) -> Response {
    match require(current) {
        Ok(me) => render_review(&app, &me, &id, None).await,
        Err(r) => r.into_response(),
    }
}

/// A photo of an item, for the `<img>` of the review page. Audited by the
/// flow; 401 (not a redirect) without a staff session.
pub(super) async fn photo(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path((id, slot)): Path<(String, String)>) -> Response {
    let Some(me) = current else {
        return AppError::new(ErrorCode::NotLoggedIn, "请先以工作人员身份登录审核系统。").into_response();
    };
    if !matches!(slot.as_str(), "front" | "back" | "handheld") {
        return AppError::new(ErrorCode::NotFound, "没有这张照片。").into_response();
    }
    match staff::photo(&app, &me, &id, &slot).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response(),
        Err(err) => err.into_response(),
    }
}

pub(super) async fn decide(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    if !token_ok(&app, &me, &f) {
        return super::super::csrf_page();
    }
    let kind = Kind::parse(field(&f, "kind")).unwrap_or(Kind::Identity).as_str();
    let common = field(&f, "common_reason").trim();
    // A common-reason chip is a 不通过 in one click; otherwise the button says.
    let (approve, reason) = match field(&f, "decision") {
        _ if !common.is_empty() => (false, Some(common)),
        "approve" => (true, None),
        "reject" => (false, Some(field(&f, "reason_text"))),
        _ => {
            let err = AppError::invalid(ErrorCode::InvalidRequest, "decision", "请选择“通过”或“不通过”。");
            return render_review(&app, &me, &id, Some(err)).await;
        }
    };
    match staff::decide(&app, &me, &id, approve, reason).await {
        Ok(()) => {
            let done = if approve { "approved" } else { "rejected" };
            Redirect::to(&format!("/staff?kind={kind}&flash={done}")).into_response()
        }
        Err(err) if err.status.is_client_error() && err.status != StatusCode::NOT_FOUND => render_review(&app, &me, &id, Some(err)).await,
        Err(err) => error_page_for(err, Some(Chrome::new(&app, &me, "queue"))),
    }
}
