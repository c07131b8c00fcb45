//! 审计日志 (admins): who opened or decided what, searchable by account, staff and time.

use super::*;

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    account: Option<String>,
    staff: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub(super) struct AuditRow {
    at: String,
    actor: String,
    account: String,
    action: &'static str,
    code: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "staff_audit.html")]
pub(super) struct AuditView {
    chrome: Option<Chrome>,
    account: String,
    staff: String,
    from: String,
    to: String,
    searched: bool,
    rows: Vec<AuditRow>,
    limit: usize,
    error: Option<String>,
}

pub(super) const AUDIT_LIMIT: usize = 1000;

pub(super) fn action_label(action: &str) -> &'static str {
    match action {
        "login" => "申请人登录",
        "profile_updated" => "完善或修改个人信息",
        "realname_verified" => "实名认证成功",
        "realname_verified_renamed" => "实名认证成功并修改姓名",
        "password_changed" => "申请人修改密码",
        "phone_changed" => "修改手机号码",
        "email_changed" => "修改安全邮箱",
        "password_reset" => "重置密码",
        "identity_review_submitted" => "提交人工审核申请",
        "contact_change_submitted" => "提交修改联系方式申请",
        "identity_approved" => "人工审核通过",
        "identity_rejected" => "人工审核不通过",
        "contact_change_approved" => "修改联系方式申请通过",
        "contact_change_rejected" => "修改联系方式申请不通过",
        "ownership_claim_submitted" => "提交账号申诉",
        "ownership_claim_approved" => "账号申诉通过",
        "ownership_claim_rejected" => "账号申诉不通过",
        "account_archived" => "账号因申诉通过停用归档",
        "account_created_by_claim" => "账号申诉通过后创建账号",
        "photo_viewed" => "查看申请照片",
        "staff_login" => "工作人员登录",
        "staff_password_changed" => "工作人员修改密码",
        "staff_added" => "添加工作人员",
        "audit_searched" => "查询审计日志",
        "accounts_imported" => "导入旧系统账号",
        _ => "",
    }
}

pub(super) fn actor_kind_label(kind: &str) -> &'static str {
    match kind {
        "applicant" => "申请人",
        "staff" => "工作人员",
        "operator" => "运维人员",
        _ => "系统",
    }
}

pub(super) async fn audit_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Query(q): Query<AuditQuery>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    let chrome = Chrome::new(&app, &me, "audit");
    if me.role() != Role::Admin {
        return error_view(StatusCode::FORBIDDEN, Some(chrome), "无权访问", "只有管理员可以查询审计日志。");
    }
    let searched = q.account.is_some() || q.staff.is_some() || q.from.is_some() || q.to.is_some();
    let mut view = AuditView {
        chrome: Some(chrome),
        account: q.account.unwrap_or_default().trim().to_owned(),
        staff: q.staff.unwrap_or_default().trim().to_owned(),
        from: q.from.unwrap_or_default().trim().to_owned(),
        to: q.to.unwrap_or_default().trim().to_owned(),
        searched,
        rows: Vec::new(),
        limit: AUDIT_LIMIT,
        error: None,
    };
    if !searched {
        return super::super::render(&view);
    }
    let bound = |raw: &str, default: i64| if raw.is_empty() { Some(default) } else { parse_local(raw) };
    let (Some(from), Some(to)) = (bound(&view.from, 0), bound(&view.to, i64::MAX / 2)) else {
        view.error = Some("起止时间格式不正确，请重新选择。".to_owned());
        return (StatusCode::UNPROCESSABLE_ENTITY, super::super::render(&view)).into_response();
    };
    // datetime-local has minute precision: `to` includes its whole minute.
    let to = if view.to.is_empty() { to } else { to.saturating_add(59) };
    let filter = staff::AuditFilter::read(Some(&view.account), Some(&view.staff), from, to, app.clock.today());
    match staff::search_audit(&app, &me, &filter).await {
        Ok(entries) => {
            view.rows = entries
                .into_iter()
                .map(|e| AuditRow {
                    at: beijing(e.at),
                    actor: match e.actor {
                        Some(a) => format!("{} {a}", actor_kind_label(&e.actor_kind)),
                        None => actor_kind_label(&e.actor_kind).to_owned(),
                    },
                    account: e.account.unwrap_or_default(),
                    action: action_label(&e.action),
                    code: e.action,
                    detail: e.detail,
                })
                .collect();
            super::super::render(&view)
        }
        Err(err) if err.status.is_server_error() => error_page_for(err, Some(Chrome::new(&app, &me, "audit"))),
        Err(err) => {
            let status = err.status;
            view.error = Some(err.message.into_owned());
            (status, super::super::render(&view)).into_response()
        }
    }
}
