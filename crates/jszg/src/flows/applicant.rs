//! An applicant as the flows see one: the stored account with its sealed
//! fields opened and its profile and real-name state interpreted.


use jszg_domain::{DocNumber, DocType, Ethnicity, Period, Validity};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::store::accounts::Account;
use crate::vault::Field;

/// The two business entries (LOGIN-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Certification,
    Renewal,
}

impl Entry {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "certification" => Some(Self::Certification),
            "renewal" => Some(Self::Renewal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Certification => "certification",
            Self::Renewal => "renewal",
        }
    }

    /// The entry's page title, as in the manual.
    pub fn login_title(self) -> &'static str {
        match self {
            Self::Certification => "认定登录入口",
            Self::Renewal => "定期注册登录入口",
        }
    }

    pub fn business_name(self) -> &'static str {
        match self {
            Self::Certification => "教师资格认定",
            Self::Renewal => "中小学教师资格定期注册",
        }
    }
}

/// Where an applicant goes after login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    CompleteProfile,
    Realname,
    Business,
}

impl Next {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CompleteProfile => "complete_profile",
            Self::Realname => "realname",
            Self::Business => "business",
        }
    }
}

/// `realname.status` of API.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealnameStatus {
    None,
    Verified,
    ReviewPending,
    ReviewApproved,
    ReviewRejected,
}

impl RealnameStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "verified" => Self::Verified,
            "review_pending" => Self::ReviewPending,
            "review_approved" => Self::ReviewApproved,
            "review_rejected" => Self::ReviewRejected,
            _ => Self::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Verified => "verified",
            Self::ReviewPending => "review_pending",
            Self::ReviewApproved => "review_approved",
            Self::ReviewRejected => "review_rejected",
        }
    }

    /// As staff and the businesses' pages show it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::None => "未实名认证",
            Self::Verified => "实名认证成功",
            Self::ReviewPending => "人工审核中",
            Self::ReviewApproved => "人工审核通过",
            Self::ReviewRejected => "人工审核不通过",
        }
    }

    /// Whether the applicant may do business (RN-1, MR-5).
    pub fn unlocks_business(self) -> bool {
        matches!(self, Self::Verified | Self::ReviewApproved)
    }
}

pub struct Applicant {
    pub row: Account,
    pub doc: DocNumber,
}

impl Applicant {
    pub fn open(app: &App, row: Account) -> AppResult<Self> {
        let doc_type: DocType = row.doc_type.parse().map_err(|_| AppError::internal("unknown doc_type in store"))?;
        let number = app.vault.open_str(Field::DocNumber, &row.doc_number_enc)?;
        Ok(Self { doc: DocNumber::from_storage(doc_type, number), row })
    }

    pub fn id(&self) -> i64 {
        self.row.id
    }

    pub fn doc_type(&self) -> DocType {
        self.doc.doc_type()
    }

    pub fn realname(&self) -> RealnameStatus {
        RealnameStatus::parse(&self.row.realname_status)
    }

    pub fn ethnicity(&self) -> Option<Ethnicity> {
        self.row.ethnicity.as_deref().and_then(|e| Ethnicity::parse(e).ok())
    }

    /// PROF-1: what the first login must add depends on the document.
    pub fn profile_complete(&self) -> bool {
        let r = &self.row;
        let base = self.ethnicity().is_some() && self.sex().is_some() && self.birth_date().is_some();
        match self.doc_type() {
            DocType::ResidentId => base,
            DocType::HkMoPermit | DocType::TwPermit => base && r.local_id_enc.is_some(),
            DocType::HmtResidence => base && r.local_id_enc.is_some() && r.permit_number_enc.is_some(),
        }
    }

    pub fn next(&self) -> Next {
        if !self.profile_complete() {
            Next::CompleteProfile
        } else if !self.realname().unlocks_business() {
            Next::Realname
        } else {
            Next::Business
        }
    }

    /// Sex: derived from the number for 18-character documents, else as entered.
    pub fn sex(&self) -> Option<jszg_domain::Sex> {
        self.doc.sex().or_else(|| self.row.sex.as_deref().and_then(|s| s.parse().ok()))
    }

    pub fn birth_date(&self) -> Option<time::Date> {
        self.doc.birth_date().or_else(|| self.row.birth_date.as_deref().and_then(jszg_domain::parse_date))
    }

    pub fn validity(&self) -> Option<Validity> {
        let period: Period = self.row.validity_period.as_deref()?.parse().ok()?;
        let start = jszg_domain::parse_date(self.row.validity_start.as_deref()?)?;
        Some(Validity::from_storage(self.doc_type(), period, start))
    }

    pub fn email(&self, app: &App) -> AppResult<Option<String>> {
        self.row.email_enc.as_deref().map(|e| app.vault.open_str(Field::Email, e)).transpose().map_err(Into::into)
    }

    pub fn phone(&self, app: &App) -> AppResult<Option<String>> {
        self.row.phone_enc.as_deref().map(|e| app.vault.open_str(Field::Phone, e)).transpose().map_err(Into::into)
    }
}

/// Mask a phone as the manual shows it: `158*****11`.
pub fn mask_phone(phone: &str) -> String {
    jszg_domain::Phone::parse(phone).map(|p| p.masked()).unwrap_or_else(|_| "*****".into())
}

/// Mask an email as the manual shows it: `4*****@qq.com`.
pub fn mask_email(email: &str) -> String {
    jszg_domain::Email::parse(email).map(|e| e.masked()).unwrap_or_else(|_| "*****".into())
}

/// What every change refuses while a manual review is pending (MR-4).
pub fn review_pending() -> AppError {
    AppError::new(ErrorCode::ReviewPending, "您已提交人工审核，请耐心等待。审核期间不能修改所提交的信息。")
}
