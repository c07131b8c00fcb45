//! 完善个人信息 and the personal centre's view of an applicant (PROF-1..4).

use serde::Deserialize;
use time::Date;

use jszg_domain::{DocNumber, DocType, Ethnicity, Region, Sex};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::{mask_email, mask_phone, review_pending, Applicant, RealnameStatus};
use crate::flows::loose::loose_string;
use crate::flows::realname;
use crate::store::{accounts, audit};
use crate::vault::Field;

pub struct ValidityOut {
    pub period: String,
    pub start: String,
    pub end: Option<String>,
}

pub struct RealnameOut {
    pub status: RealnameStatus,
    pub remaining_today: i64,
    pub review: Option<realname::ReviewSummary>,
}

/// The applicant as the personal centre, `GET /api/v1/me` and a reviewer see them.
pub struct Me {
    pub doc_type: String,
    pub doc_type_label: String,
    pub doc_number_masked: String,
    pub name: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub ethnicity_name: Option<String>,
    /// 地区, derived from the number of a residence permit.
    pub region: Option<String>,
    pub local_id_number_masked: Option<String>,
    pub permit_number_masked: Option<String>,
    pub email_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub validity: Option<ValidityOut>,
    pub profile_complete: bool,
    /// Fields the first-login form asks for, by document type.
    pub profile_fields: Vec<&'static str>,
    pub realname: RealnameOut,
    pub wechat_bound: bool,
    /// Linked to a 教育部账号 (LOGIN-5).
    pub upstream_linked: bool,
}

fn mask_middle(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 4 {
        return "*****".into();
    }
    format!("{}*****{}", chars[..2].iter().collect::<String>(), chars[chars.len() - 2..].iter().collect::<String>())
}

pub fn profile_fields(doc_type: DocType) -> Vec<&'static str> {
    match doc_type {
        DocType::ResidentId => vec!["ethnicity"],
        DocType::HkMoPermit | DocType::TwPermit => vec!["sex", "birth_date", "ethnicity", "local_id_number"],
        DocType::HmtResidence => vec!["ethnicity", "local_id_number", "permit_number"],
    }
}

pub async fn me(app: &App, a: &Applicant) -> AppResult<Me> {
    me_with(app, a, realname::standing(app, a).await?)
}

/// The applicant's view, the real-name standing already read.
pub fn me_with(app: &App, a: &Applicant, standing: realname::Standing) -> AppResult<Me> {
    let open = |field: Field, value: &Option<Vec<u8>>| -> AppResult<Option<String>> {
        value.as_deref().map(|v| app.vault.open_str(field, v)).transpose().map_err(Into::into)
    };
    let ethnicity = a.ethnicity();
    Ok(Me {
        doc_type: a.doc_type().as_str().into(),
        doc_type_label: a.doc_type().label_zh().into(),
        doc_number_masked: a.doc.masked(),
        name: a.row.name.clone(),
        sex: a.sex(),
        birth_date: a.birth_date().map(jszg_domain::format_date),
        ethnicity: ethnicity.map(|e| e.code().to_owned()),
        ethnicity_name: ethnicity.map(|e| e.name_zh().to_owned()),
        region: a.doc.region().map(|r| r.label_zh().to_owned()),
        local_id_number_masked: open(Field::LocalIdNumber, &a.row.local_id_enc)?.map(|v| mask_middle(&v)),
        permit_number_masked: open(Field::PermitNumber, &a.row.permit_number_enc)?.map(|v| mask_middle(&v)),
        email_masked: a.email(app)?.map(|e| mask_email(&e)),
        phone_masked: a.phone(app)?.map(|p| mask_phone(&p)),
        validity: a.validity().map(|v| ValidityOut {
            period: v.period().as_str().into(),
            start: jszg_domain::format_date(v.start()),
            end: v.end().map(jszg_domain::format_date),
        }),
        profile_complete: a.profile_complete(),
        profile_fields: profile_fields(a.doc_type()),
        realname: RealnameOut { status: a.realname(), remaining_today: standing.remaining_today, review: standing.review },
        wechat_bound: standing.wechat_bound,
        upstream_linked: standing.upstream_linked,
    })
}

/// The 完善个人信息 form as it arrives (its OpenAPI description is `http/api/me.rs`'s).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    /// GB 3304 code, e.g. `"01"` 汉族.
    #[serde(deserialize_with = "loose_string")]
    pub ethnicity: Option<String>,
    /// `male` or `female` (permits only; derived for 18-character numbers).
    #[serde(deserialize_with = "loose_string")]
    pub sex: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub birth_date: Option<String>,
    /// 港澳台当地身份证件号码.
    #[serde(deserialize_with = "loose_string")]
    pub local_id_number: Option<String>,
    /// 通行证号码 (residence permits).
    #[serde(deserialize_with = "loose_string")]
    pub permit_number: Option<String>,
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("").trim()
}

/// A Hong Kong, Macao or Taiwan identity card number: letters, digits and
/// the parentheses of a check digit, 6 to 20 of them after width folding.
pub fn parse_local_id(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = raw.nfkc().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let len = folded.chars().count();
    ((6..=20).contains(&len) && folded.chars().all(|c| c.is_ascii_alphanumeric() || c == '(' || c == ')')).then_some(folded)
}

struct ParsedProfile {
    ethnicity: Ethnicity,
    sex: Option<Sex>,
    birth_date: Option<Date>,
    local_id: Option<String>,
    permit: Option<String>,
}

fn parse_profile(a: &Applicant, f: &ProfileForm, today: Date) -> AppResult<ParsedProfile> {
    let doc_type = a.doc_type();
    let ethnicity =
        Ethnicity::parse(text(&f.ethnicity)).map_err(|_| AppError::invalid(ErrorCode::InvalidEthnicity, "ethnicity", "请选择民族。"))?;
    let needs_person = matches!(doc_type, DocType::HkMoPermit | DocType::TwPermit);
    let (sex, birth_date) = if needs_person {
        let sex: Sex = text(&f.sex).parse().map_err(|_| AppError::invalid(ErrorCode::InvalidSex, "sex", "请选择性别。"))?;
        let birth = jszg_domain::parse_date(text(&f.birth_date))
            .filter(|d| *d <= today && d.year() >= 1900)
            .ok_or_else(|| AppError::invalid(ErrorCode::InvalidBirthDate, "birth_date", "请填写正确的出生日期（年-月-日），不能晚于今天。"))?;
        (Some(sex), Some(birth))
    } else {
        // Derived from the number; nothing to ask.
        (None, None)
    };
    let local_id = if doc_type == DocType::ResidentId {
        None
    } else {
        Some(parse_local_id(text(&f.local_id_number)).ok_or_else(|| {
            AppError::invalid(ErrorCode::InvalidLocalIdNumber, "local_id_number", "请填写港澳或台湾当地有效身份证件号码（字母、数字，6至20位）。")
        })?)
    };
    let permit = if doc_type == DocType::HmtResidence {
        let permit_type = match a.doc.region() {
            Some(Region::Taiwan) => DocType::TwPermit,
            _ => DocType::HkMoPermit,
        };
        let permit = DocNumber::parse(permit_type, text(&f.permit_number), today)
            .map_err(|e| AppError::invalid(ErrorCode::InvalidPermitNumber, "permit_number", format!("通行证号码：{e}")))?;
        Some(permit.as_str().to_owned())
    } else {
        None
    };
    Ok(ParsedProfile { ethnicity, sex, birth_date, local_id, permit })
}

pub async fn update(app: &App, a: &Applicant, form: &ProfileForm) -> AppResult<()> {
    if a.realname() == RealnameStatus::ReviewPending {
        return Err(review_pending());
    }
    let p = parse_profile(a, form, app.clock.today())?;
    let sex = p.sex.map(|s| s.as_str());
    let birth = p.birth_date.map(jszg_domain::format_date);
    let local = p.local_id.as_deref().map(|v| app.vault.seal_str(Field::LocalIdNumber, v));
    let permit = p.permit.as_deref().map(|v| app.vault.seal_str(Field::PermitNumber, v));
    let now = app.clock.unix();
    let mut tx = app.db.begin().await?;
    accounts::set_profile(
        &mut tx,
        a.id(),
        accounts::ProfileUpdate {
            sex,
            birth_date: birth.as_deref(),
            ethnicity: p.ethnicity.code(),
            local_id_enc: local.as_deref(),
            permit_number_enc: permit.as_deref(),
            completed_at: now,
        },
    )
    .await?;
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(now, a.id(), "profile_updated", "")).await?;
    tx.commit().await?;
    Ok(())
}
