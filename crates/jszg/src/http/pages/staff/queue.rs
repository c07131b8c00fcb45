//! 审核队列: pending and decided items, most urgent first.

use super::*;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    kind: Option<String>,
    status: Option<String>,
    flash: Option<String>,
}

pub(super) struct Row {
    id: String,
    submitted_at: String,
    doc_type: &'static str,
    masked: String,
    name: String,
    due_date: String,
    left: String,
    overdue: bool,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "staff_queue.html")]
pub(super) struct QueueView {
    chrome: Option<Chrome>,
    kinds: [(&'static str, &'static str); 3],
    statuses: [(&'static str, &'static str); 3],
    kind: &'static str,
    status: &'static str,
    flash: Option<(&'static str, &'static str)>,
    rows: Vec<Row>,
    overdue: usize,
}

pub(super) fn flash(code: Option<&str>) -> Option<(&'static str, &'static str)> {
    match code? {
        "approved" => Some(("good", "审核完成：已通过该申请。")),
        "rejected" => Some(("good", "审核完成：该申请未通过，申请人将收到不通过原因。")),
        "password" => Some(("good", "密码修改成功。")),
        "already_decided" => Some(("bad", "该申请已由其他工作人员处理。")),
        _ => None,
    }
}

pub(super) async fn queue_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Query(q): Query<QueueQuery>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    let kind = q.kind.as_deref().and_then(Kind::parse).unwrap_or(Kind::Identity);
    let status = match q.status.as_deref().and_then(Status::parse) {
        Some(s @ (Status::Approved | Status::Rejected)) => s,
        _ => Status::Pending,
    };
    let items = match staff::queue(&app, Some(kind), status).await {
        Ok(items) => items,
        Err(err) => return error_page_for(err, Some(Chrome::new(&app, &me, "queue"))),
    };
    let rows: Vec<Row> = items
        .into_iter()
        .map(|i| Row {
            left: days_left_text(i.status, i.overdue, i.working_days_left),
            submitted_at: beijing(i.submitted_at),
            doc_type: i.doc_type.label_zh(),
            masked: i.doc_number_masked,
            name: i.name,
            due_date: jszg_domain::format_date(i.due_date),
            overdue: i.overdue,
            status: status_label(i.status),
            id: i.id,
        })
        .collect();
    super::super::render(&QueueView {
        chrome: Some(Chrome::new(&app, &me, "queue")),
        kinds: [("identity", "身份核验人工审核"), ("contact_change", "修改联系方式申请"), ("ownership_claim", "账号申诉")],
        statuses: [("pending", "待审核"), ("approved", "已通过"), ("rejected", "未通过")],
        kind: kind.as_str(),
        status: status.as_str(),
        flash: flash(q.flash.as_deref()),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        rows,
    })
}
