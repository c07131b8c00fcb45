//! The staff review console (STAFF-1..5): staff accounts apart from
//! applicants', password plus TOTP sign-in, the queue most urgent first,
//! decisions that exactly one reviewer wins, and the audit log.

use rand::seq::SliceRandom;
use rand::Rng;
use time::{Date, OffsetDateTime};

use jszg_domain::{DocType, LoginName, PasswordAttempt};

use crate::adapters::passwords::Verdict;
use crate::adapters::totp;
use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::stored_passwords;
use crate::vault::Holder;
use crate::flows::applicant::Applicant;
use crate::flows::reviews::{self, Kind, Status};
use crate::flows::{contact_change, ownership_claims, profile};
use crate::store::{accounts, audit, logins, reviews as store, staff, Tx};
use crate::vault::Field;

pub const COOKIE: &str = "jszg_staff";
/// What the console shows where photos were (PRIV-1).
pub const PHOTOS_DELETED: &str = "照片已按规定删除";
pub const SESSION_IDLE: i64 = 30 * 60;
pub const SESSION_ABSOLUTE: i64 = 10 * 3600;

/// The reasons a reviewer picks with one click (STAFF-3), for a real-name review.
pub const COMMON_REASONS: [&str; 6] = ["民族错误", "照片不清晰", "姓名与证件不一致", "证件号码错误", "照片旋转或镜像", "证件已过期"];

/// The one-click reasons that fit an item: a contact change or a claim is not about the
/// applicant's profile, so 民族错误 is no reason to refuse one.
pub fn common_reasons(kind: Option<Kind>) -> Vec<&'static str> {
    match kind {
        Some(Kind::Identity) | None => COMMON_REASONS.to_vec(),
        Some(Kind::ContactChange) => vec!["手持证件照片不清晰", "照片中的人与证件不符", "照片旋转或镜像", "证件已过期", "新联系方式填写有误"],
        Some(Kind::OwnershipClaim) => {
            vec!["照片不清晰", "姓名与证件不一致", "证件号码错误", "照片旋转或镜像", "证件已过期", "手持证件照片不符合要求"]
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Reviewer,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reviewer" => Some(Self::Reviewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
        }
    }
}

pub struct Created {
    pub password: String,
    pub totp_secret: String,
}

/// A strong initial password: 16 characters with every class.
fn initial_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SPECIAL: &[u8] = b"#%*-_!@$&";
    let mut rng = rand::rngs::OsRng;
    let mut pick = |set: &[u8]| set[rng.gen_range(0..set.len())] as char;
    let mut chars: Vec<char> = vec![pick(LOWER), pick(UPPER), pick(DIGITS), pick(SPECIAL)];
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SPECIAL].concat();
    while chars.len() < 16 {
        chars.push(pick(&all));
    }
    chars.shuffle(&mut rand::rngs::OsRng);
    chars.into_iter().collect()
}

fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// `jszg staff add`: create a staff member; the password and TOTP secret
/// are shown once.
pub async fn add(app: &App, username: &str, role: Role) -> AppResult<Created> {
    if !valid_username(username) {
        return Err(AppError::invalid(ErrorCode::InvalidUsername, "username", "username: 3-32 lower-case letters, digits, '.', '_' or '-'"));
    }
    let password = initial_password();
    let secret = totp::generate_secret();
    let hash = app.hasher.hash(&password).await?;
    match crate::store::unless_taken(
        staff::insert(&app.db, username, role.as_str(), &hash, &app.vault.seal(Field::Totp, &secret), app.clock.unix()).await,
    )? {
        Some(id) => {
            staff::set_password_tag(&app.db, id, &hash, &stored_passwords::tag(app, Holder::Staff, id, &hash)).await?;
            let mut tx = app.db.begin().await?;
            audit::append(&mut tx, &app.vault, audit::Entry {
                    at: app.clock.unix(),
                    actor_kind: "operator",
                    actor_id: None,
                    account_id: None,
                    action: "staff_added",
                    detail: &format!("staff {id} {username} {}", role.as_str()),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Created { password, totp_secret: totp::base32(&secret) })
        }
        None => Err(AppError::new(ErrorCode::StaffExists, "a staff member with that username exists")),
    }
}

fn bad_sign_in() -> AppError {
    AppError::new(ErrorCode::InvalidCredentials, "用户名、密码或动态口令错误。")
}

/// Password plus TOTP; development mode may skip the TOTP. Failures count
/// against the username like applicants' logins do.
pub async fn sign_in(app: &App, username: &str, password: &str, code: Option<&str>) -> AppResult<String> {
    let now = app.clock.unix();
    let key = app.vault.mac(&[b"staff_login", username.as_bytes()]);
    let policy = &app.config.login;
    if let Some(until) = logins::get(&app.db, &key).await?.and_then(|f| f.locked_until).filter(|u| *u > now) {
        return Err(AppError::too_many(ErrorCode::AccountLocked, "登录失败次数过多，账号已被临时锁定，请稍后再试。", Some(until - now)));
    }
    let found = staff::by_username(&app.db, username).await?;
    let stored = match &found {
        Some(s) => stored_passwords::vouched(app, Holder::Staff, s.id, Some(&s.password_hash), s.password_tag.as_deref()).await?,
        None => None,
    };
    let verdict = app.hasher.verify(password, stored).await?;
    let member = match (verdict, found) {
        (Verdict::Valid { .. }, Some(member)) => {
            let code = code.map(str::trim).filter(|c| !c.is_empty());
            let totp_ok = match code {
                None => app.dev,
                Some(code) => {
                    let secret = app.vault.open(Field::Totp, &member.totp_secret_enc)?;
                    match totp::verify(&secret, code, now) {
                        Some(step) => staff::use_totp_step(&app.db, member.id, step).await?,
                        None => false,
                    }
                }
            };
            totp_ok.then_some(member)
        }
        _ => None,
    };
    let Some(member) = member else {
        let mut tx = app.db.begin().await?;
        audit::append(&mut tx, &app.vault, audit::Entry { at: now, actor_kind: "staff", actor_id: None, account_id: None, action: "staff_login_failed", detail: username },
        )
        .await?;
        tx.commit().await?;
        logins::record(&app.db, &key, &logins::Policy::new(policy, now)).await?;
        return Err(bad_sign_in());
    };
    logins::clear(&app.db, &key).await?;
    let token = random_token(32);
    staff::insert_session(&app.db, &session_hash(app, &token), member.id, now, now + SESSION_ABSOLUTE).await?;
    let mut tx = app.db.begin().await?;
    log(&mut tx, app, member.id, None, "staff_login", "").await?;
    tx.commit().await?;
    Ok(token)
}

pub fn session_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"staff_session", token.as_bytes()])
}

pub struct StaffCurrent {
    pub id_hash: Vec<u8>,
    pub member: staff::Staff,
}

impl StaffCurrent {
    pub fn role(&self) -> Role {
        Role::parse(&self.member.role).unwrap_or(Role::Reviewer)
    }

    /// Whether this member may work. In production the printed initial password (`jszg staff
    /// add`) opens nothing but its own change: whoever saw the printout must not read full
    /// document numbers with it. Development only invites the change.
    pub fn ready(&self, app: &App) -> AppResult<()> {
        if self.member.must_change_password && !app.dev {
            return Err(AppError::new(ErrorCode::PasswordChangeRequired, "请先修改初始密码，再使用审核系统。"));
        }
        Ok(())
    }
}

pub async fn resolve(app: &App, token: &str) -> AppResult<Option<StaffCurrent>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let hash = session_hash(app, token);
    let mut found = staff::find_session(&app.db, &hash).await?;
    // GM-1: a session from before a change of suite moves to the current hash on first sight.
    if found.is_none() {
        if let Some(previous) = app.vault.previous_mac(&[b"staff_session", token.as_bytes()]) {
            if crate::store::rehash::move_key(&app.db, crate::store::rehash::Keyed::StaffSessions, &previous, &hash).await? {
                found = staff::find_session(&app.db, &hash).await?;
            }
        }
    }
    let Some(found) = found else { return Ok(None) };
    let now = app.clock.unix();
    if now >= found.expires_at || now - found.last_seen_at >= SESSION_IDLE {
        staff::delete_session(&app.db, &hash).await?;
        return Ok(None);
    }
    if now - found.last_seen_at >= 60 {
        staff::touch_session(&app.db, &hash, now).await?;
    }
    Ok(Some(StaffCurrent { id_hash: hash, member: found.staff }))
}

pub async fn sign_out(app: &App, token: &str) -> AppResult<()> {
    if let Some(current) = resolve(app, token).await? {
        let mut tx = app.db.begin().await?;
        log(&mut tx, app, current.member.id, None, "staff_logout", "").await?;
        tx.commit().await?;
    }
    staff::delete_session(&app.db, &session_hash(app, token)).await?;
    Ok(())
}

/// A staff member's new password: 12 to 128 characters of at least three classes, stricter than
/// CRED-3 since staff see every applicant's documents. Redacted like the applicants' passwords.
pub struct StaffPassword(String);

impl StaffPassword {
    pub fn parse(raw: &str) -> AppResult<StaffPassword> {
        let classes = [
            raw.bytes().any(|b| b.is_ascii_lowercase()),
            raw.bytes().any(|b| b.is_ascii_uppercase()),
            raw.bytes().any(|b| b.is_ascii_digit()),
            raw.bytes().any(|b| !b.is_ascii_alphanumeric()),
        ];
        let chars = raw.chars().count();
        if !(12..=128).contains(&chars) || classes.iter().filter(|c| **c).count() < 3 {
            return Err(AppError::invalid(
                ErrorCode::WeakPassword,
                "new_password",
                "工作人员密码至少12位，并包含大写字母、小写字母、数字、特殊字符中的至少三类。",
            ));
        }
        Ok(StaffPassword(raw.to_owned()))
    }
}

impl std::fmt::Debug for StaffPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPassword(***)")
    }
}

/// The policy is checked (by the caller's parse) before the current password costs a hash.
pub async fn change_password(app: &App, me: &StaffCurrent, current: &PasswordAttempt, new: &StaffPassword) -> AppResult<()> {
    let (current, new) = (current.expose_secret(), new.0.as_str());
    let stored = stored_passwords::vouched(app, Holder::Staff, me.member.id, Some(&me.member.password_hash), me.member.password_tag.as_deref()).await?;
    if !matches!(app.hasher.verify(current, stored).await?, Verdict::Valid { .. }) {
        return Err(AppError::new(ErrorCode::InvalidCredentials, "当前密码不正确。").field("current_password"));
    }
    if new == current {
        return Err(crate::flows::account_changes::password_unchanged());
    }
    let hash = app.hasher.hash(new).await?;
    staff::set_password(&app.db, me.member.id, &hash, &stored_passwords::tag(app, Holder::Staff, me.member.id, &hash)).await?;
    staff::delete_other_sessions(&app.db, me.member.id, &me.id_hash).await?;
    let mut tx = app.db.begin().await?;
    log(&mut tx, app, me.member.id, None, "staff_password_changed", "").await?;
    tx.commit().await?;
    Ok(())
}

async fn log(tx: &mut Tx, app: &App, staff_id: i64, account_id: Option<i64>, action: &str, detail: &str) -> AppResult<()> {
    audit::append(tx, &app.vault, audit::Entry { at: app.clock.unix(), actor_kind: "staff", actor_id: Some(staff_id), account_id, action, detail })
        .await?;
    Ok(())
}

/// An item as the queue shows it.
pub struct QueueItem {
    pub id: String,
    pub kind: Kind,
    pub status: Status,
    pub submitted_at: OffsetDateTime,
    pub due_date: Date,
    /// Working days left until the due date; negative when overdue.
    pub working_days_left: i64,
    pub overdue: bool,
    pub doc_type: DocType,
    pub doc_number_masked: String,
    pub name: String,
}

/// What the queue shows of an item; the applicant's masked number comes
/// from their sealed document number.
fn item(app: &App, r: &store::Review, doc_type: &str, doc_number_enc: &[u8], name: &str) -> AppResult<QueueItem> {
    let today = app.clock.today();
    let due = jszg_domain::parse_date(&r.due_date).ok_or_else(|| AppError::internal(format!("review {} has due date {:?}", r.id, r.due_date)))?;
    let left = if due >= today { app.calendar.working_days_between(today, due) } else { -app.calendar.working_days_between(due, today) };
    let doc_type: DocType = doc_type.parse().map_err(|_| AppError::internal(format!("unknown doc_type {doc_type:?}")))?;
    let number = app.vault.open_str(Field::DocNumber, doc_number_enc)?;
    let status = Status::stored(&r.status)?;
    Ok(QueueItem {
        id: r.id.clone(),
        kind: Kind::stored(&r.kind)?,
        status,
        submitted_at: crate::clock::instant(r.submitted_at),
        due_date: due,
        working_days_left: left,
        overdue: today > due && status == Status::Pending,
        doc_type,
        doc_number_masked: jszg_domain::DocNumber::from_storage(doc_type, number).masked(),
        name: name.to_owned(),
    })
}

pub async fn queue(app: &App, kind: Option<Kind>, status: Status) -> AppResult<Vec<QueueItem>> {
    let rows = store::queue(&app.db, kind.map(Kind::as_str), status.as_str(), 500).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        // A claim's applicant is the claimant, not the account holding the number.
        let name = match Kind::parse(&r.review.kind) {
            Some(Kind::OwnershipClaim) => ownership_claims::open(app, &r.review)?.name,
            _ => r.name.clone(),
        };
        items.push(item(app, &r.review, &r.doc_type, &r.doc_number_enc, &name)?);
    }
    Ok(items)
}

/// The applicant's other items, beside the one under review.
pub struct HistoryItem {
    pub id: String,
    pub kind: Kind,
    pub status: Status,
    pub submitted_at: OffsetDateTime,
    pub reason: String,
    pub decision_reason: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// The staff member who decided.
    pub decided_by: Option<String>,
}

/// What the applicant submitted, by kind of item.
pub enum Submitted {
    Identity(reviews::IdentityClaim),
    ContactChange(contact_change::RequestForStaff),
    /// The claimant's data; the account holding the number is the detail's `profile`.
    OwnershipClaim(ownership_claims::ClaimantForStaff),
}

pub struct ReviewDetail {
    pub item: QueueItem,
    pub submitted: Submitted,
    pub reason: String,
    pub decision_reason: Option<String>,
    /// The full document number, so it can be compared with the photos;
    /// every opening of an item is written to the audit log.
    pub doc_number: String,
    /// The applicant's current profile.
    pub profile: profile::Me,
    /// Slots whose photos can be opened; empty once they are deleted.
    pub photos: Vec<&'static str>,
    /// When the photos were deleted under the retention rule (PRIV-1).
    pub photos_deleted_at: Option<OffsetDateTime>,
    pub history: Vec<HistoryItem>,
    pub common_reasons: Vec<&'static str>,
    /// Ownership claims only: the evidence beside the two parties' data.
    pub claim: Option<ClaimEvidence>,
}

/// What a reviewer weighs on an ownership claim (REG-7).
pub struct ClaimEvidence {
    /// The identity authority's answer for the claimant's name.
    pub authority: ownership_claims::AuthorityEvidence,
    /// The account holding the number (none if it has gone since).
    pub holder: Option<ownership_claims::HolderHistory>,
}

pub async fn detail(app: &App, me: &StaffCurrent, id: &str) -> AppResult<ReviewDetail> {
    let review = store::find(&app.db, id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "没有这条审核记录。"))?;
    // Archived accounts too: a decided claim leaves its holder archived.
    let row = crate::store::ownership_claims::account_any(&app.db, review.account_id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "申请人账号不存在。"))?;
    let a = Applicant::open(app, row.account)?;
    let kind = Kind::stored(&review.kind)?;
    let mut claim = None;
    let submitted = match kind {
        Kind::Identity => Submitted::Identity(reviews::open_claim(app, &review)?),
        Kind::OwnershipClaim => {
            let data = ownership_claims::open(app, &review)?;
            claim = Some(ClaimEvidence {
                authority: ownership_claims::authority_evidence(app, &review, &data).await?,
                holder: ownership_claims::holder_history(app, review.account_id).await?,
            });
            Submitted::OwnershipClaim(ownership_claims::claimant_for_staff(&data))
        }
        Kind::ContactChange => Submitted::ContactChange(contact_change::open_request_for_staff(app, &review)?),
    };
    let photos = match (review.photos_deleted_at, kind) {
        (Some(_), _) => Vec::new(),
        (None, Kind::Identity | Kind::OwnershipClaim) => vec!["front", "back", "handheld"],
        (None, Kind::ContactChange) => vec!["handheld"],
    };
    let mut history = Vec::new();
    for row in store::history_with_deciders(&app.db, review.account_id).await?.into_iter().filter(|h| h.review.id != review.id) {
        let (h, decided_by) = (row.review, row.decided_by_username);
        history.push(HistoryItem {
            id: h.id,
            kind: Kind::stored(&h.kind)?,
            status: Status::stored(&h.status)?,
            submitted_at: crate::clock::instant(h.submitted_at),
            reason: h.reason,
            decision_reason: h.decision_reason,
            decided_at: h.decided_at.map(crate::clock::instant),
            decided_by,
        });
    }
    let mut tx = app.db.begin().await?;
    log(&mut tx, app, me.member.id, Some(review.account_id), "review_viewed", id).await?;
    tx.commit().await?;
    Ok(ReviewDetail {
        item: item(
            app,
            &review,
            &a.row.doc_type,
            &a.row.doc_number_enc,
            match &submitted {
                // A claim's applicant is the claimant, not the account holding the number.
                Submitted::OwnershipClaim(claimant) => &claimant.name,
                _ => &a.row.name,
            },
        )?,
        submitted,
        reason: review.reason.clone(),
        decision_reason: review.decision_reason.clone(),
        doc_number: a.doc.as_str().to_owned(),
        profile: profile::me(app, &a).await?,
        photos,
        photos_deleted_at: review.photos_deleted_at.map(crate::clock::instant),
        history,
        common_reasons: common_reasons(Some(kind)),
        claim,
    })
}

/// A photo of an item, opened for a staff member and written to the audit log.
pub async fn photo(app: &App, me: &StaffCurrent, id: &str, slot: &str) -> AppResult<Vec<u8>> {
    let review = store::find(&app.db, id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "没有这条审核记录。"))?;
    if review.photos_deleted_at.is_some() {
        return Err(AppError::new(ErrorCode::PhotosDeleted, PHOTOS_DELETED));
    }
    let sealed = store::photo(&app.db, id, slot).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "没有这张照片。"))?;
    let bytes = app.vault.open(Field::Photo, &sealed)?;
    let mut tx = app.db.begin().await?;
    log(&mut tx, app, me.member.id, Some(review.account_id), "photo_viewed", &format!("{id} {slot}")).await?;
    tx.commit().await?;
    Ok(bytes)
}

/// Approve, or reject with a reason. One conditional update decides the
/// race: the loser gets 409 `already_decided`.
pub async fn decide(app: &App, me: &StaffCurrent, id: &str, approve: bool, reason: Option<&str>) -> AppResult<()> {
    // Stored as one clause: each message that quotes it adds its own 。 (no "。。").
    let reason = reason.map(reviews::clause).filter(|r| !r.is_empty());
    if !approve && reason.is_none_or(|r| r.chars().count() > 200) {
        return Err(AppError::invalid(ErrorCode::InvalidReason, "reason", "请填写不通过原因（200字以内）。"));
    }
    let review = store::find(&app.db, id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "没有这条审核记录。"))?;
    let already = || AppError::new(ErrorCode::AlreadyDecided, "该申请已由其他工作人员处理。");
    let current = Status::stored(&review.status)?;
    if current == Status::Withdrawn {
        // The account holder stopped it (a contact change announced to their phone and email).
        return Err(AppError::new(ErrorCode::AlreadyDecided, "账号持有人已撤销该申请，无需审核。").with("status", "withdrawn"));
    }
    if current != Status::Pending {
        return Err(already());
    }
    let mut tx = app.db.begin().await?;
    let status = if approve { Status::Approved } else { Status::Rejected };
    if !store::decide(&mut tx, id, status.as_str(), reason, me.member.id, app.clock.unix()).await? {
        tx.rollback().await?;
        return Err(already());
    }
    match Kind::stored(&review.kind)? {
        Kind::Identity => reviews::apply_identity_decision(&mut tx, app, &review, approve, reason).await?,
        Kind::OwnershipClaim => ownership_claims::apply_decision(&mut tx, app, &review, approve, reason, me.member.id).await?,
        Kind::ContactChange => contact_change::apply_decision(&mut tx, app, &review, approve, reason).await?,
    }
    log(
        &mut tx,
        app,
        me.member.id,
        Some(review.account_id),
        &format!("{}_{}", review.kind, status.as_str()),
        &format!("{id} {}", reason.unwrap_or("")),
    )
    .await?;
    tx.commit().await?;
    app.wake_outbox();
    Ok(())
}

/// One line of the audit log as an admin reads it.
pub struct AuditEntry {
    pub at: OffsetDateTime,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub account: Option<String>,
    pub action: String,
    pub detail: String,
}

/// An audit search (STAFF-5): by applicant, by staff member, within `from..=to` (Unix seconds).
pub struct AuditFilter {
    pub account: Option<LoginName>,
    pub username: Option<String>,
    pub from: i64,
    pub to: i64,
}

impl AuditFilter {
    /// From the search form, where an empty field means "any".
    pub fn read(account: Option<&str>, username: Option<&str>, from: i64, to: i64, today: time::Date) -> AuditFilter {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        AuditFilter {
            account: given(account).map(|raw| LoginName::read(&raw, today)),
            username: given(username),
            from,
            to,
        }
    }
}

/// STAFF-5: admins search the audit log by applicant (document number),
/// by staff member (username) and by time.
pub async fn search_audit(app: &App, me: &StaffCurrent, filter: &AuditFilter) -> AppResult<Vec<AuditEntry>> {
    if me.role() != Role::Admin {
        return Err(AppError::new(ErrorCode::Forbidden, "只有管理员可以查询审计日志。"));
    }
    let AuditFilter { account, username, from, to } = filter;
    let account_id = match account {
        Some(name) => {
            match accounts::find_any(&app.db, &app.vault.lookups(Field::DocNumber, name.as_str())).await?.first() {
                Some(id) => Some(*id),
                None => return Ok(Vec::new()),
            }
        }
        None => None,
    };
    let actor = match username {
        Some(u) => match staff::by_username(&app.db, u).await? {
            Some(s) => Some(("staff", s.id)),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let rows = staff::search_audit(&app.db, account_id, actor, *from, *to, 1000).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let actor = match (row.actor_kind.as_str(), row.actor_id) {
            ("staff", Some(_)) => row.actor_username.clone(),
            (_, Some(id)) => Some(format!("#{id}")),
            _ => None,
        };
        let account = match (row.doc_type.as_deref().and_then(|t| t.parse::<jszg_domain::DocType>().ok()), &row.doc_number_enc) {
            (Some(doc_type), Some(sealed)) => {
                Some(jszg_domain::DocNumber::from_storage(doc_type, app.vault.open_str(Field::DocNumber, sealed)?).masked())
            }
            _ => None,
        };
        out.push(AuditEntry {
            at: crate::clock::instant(row.at),
            actor_kind: row.actor_kind,
            actor,
            account,
            action: row.action,
            detail: row.detail,
        });
    }
    let mut tx = app.db.begin().await?;
    log(&mut tx, app, me.member.id, None, "audit_searched", "").await?;
    tx.commit().await?;
    Ok(out)
}
