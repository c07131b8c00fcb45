//! Every error code the API answers with (docs/api.md's table lists exactly these, checked by a
//! test), with its HTTP status and the message said when a call site has nothing more precise.
//! Handlers and pages branch on the variant, never on the text.

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident, $message:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// Its status. `captcha_expired` is 404 for an unknown challenge and 410 for a
            /// late one (`AppError::with_status`); every other code has one status.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }

            /// The Chinese message when the call site has no more precise one.
            pub fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $message,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidRequest = "invalid_request", UNPROCESSABLE_ENTITY, "请选择修改邮箱地址或修改手机号码。";
    InvalidDocNumber = "invalid_doc_number", UNPROCESSABLE_ENTITY, "请选择身份证件类型。";
    InvalidName = "invalid_name", UNPROCESSABLE_ENTITY, "请填写与身份证件一致的姓名。";
    InvalidValidity = "invalid_validity", UNPROCESSABLE_ENTITY, "请选择身份证件有效时间段并填写有效开始日期。";
    DocumentExpired = "document_expired", UNPROCESSABLE_ENTITY, "您的身份证件已过期，请使用有效证件注册。";
    ValidityWarning = "validity_warning", CONFLICT, "证件有效期即将到期或已较长，请确认填写无误后继续。";
    WeakPassword = "weak_password", UNPROCESSABLE_ENTITY, "密码须为8位以上数字、字母和特殊符号组合。";
    PasswordMismatch = "password_mismatch", UNPROCESSABLE_ENTITY, "两次输入的密码不一致，请重新输入确认密码。";
    PasswordUnchanged = "password_unchanged", UNPROCESSABLE_ENTITY, "新密码不能与当前密码相同，请设置一个新的密码。";
    InvalidEmail = "invalid_email", UNPROCESSABLE_ENTITY, "请输入正确的电子邮箱地址。";
    InvalidPhone = "invalid_phone", UNPROCESSABLE_ENTITY, "请输入正确的11位手机号码。";
    InvalidVerificationCode = "invalid_verification_code", UNPROCESSABLE_ENTITY, "请输入6位数字验证码。";
    TermsNotAccepted = "terms_not_accepted", UNPROCESSABLE_ENTITY, "请阅读《中国教师资格网注册协议》，勾选“我已阅读并同意”后再提交。";
    AccountExists = "account_exists", CONFLICT, "该证件号码已有新的注册账号，请刷新后重新核对。";
    NoAccount = "no_account", CONFLICT, "该证件号码尚未注册（或为2019年3月1日前注册的旧账号），无需申诉，请直接注册。";
    ClaimPending = "claim_pending", CONFLICT, "该证件号码已有一份账号申诉正在审核中，请耐心等待审核结果短信通知，审核期间不可重复提交。";
    ProfileIncomplete = "profile_incomplete", CONFLICT, "请先完善个人信息，再办理业务。";
    RealnameRequired = "realname_required", FORBIDDEN, "您还未进行实名认证，需进入“个人信息中心”完成实名认证，再办理业务！";
    RealnameFailed = "realname_failed", UNPROCESSABLE_ENTITY, "您提交的姓名与证件信息核验不一致。";
    AuthorityUnavailable = "authority_unavailable", SERVICE_UNAVAILABLE, "实名认证服务暂时不可用，本次不计入认证次数，请稍后再试。";
    ReviewPending = "review_pending", CONFLICT, "您已提交人工审核，请耐心等待。审核期间不能修改所提交的信息。";
    InvalidPhoto = "invalid_photo", UNPROCESSABLE_ENTITY, "请上传JPG格式、小于190KB的照片。";
    InvalidReason = "invalid_reason", UNPROCESSABLE_ENTITY, "请填写申请原因（500字以内）。";
    PeriodLimit = "period_limit", TOO_MANY_REQUESTS, "本周期的人工审核次数已用完。";
    DailyLimit = "daily_limit", TOO_MANY_REQUESTS, "每日您最多可进行三次实名认证，今日次数已用完，请于明日0点（北京时间）后再试。";
    CaptchaRequired = "captcha_required", UNPROCESSABLE_ENTITY, "请先向右拖动滑块完成图形验证。";
    CaptchaFailed = "captcha_failed", UNPROCESSABLE_ENTITY, "拼图未对准，请重新拖动滑块完成验证。";
    CaptchaExpired = "captcha_expired", NOT_FOUND, "验证码已失效，请刷新后重新拖动滑块。";
    CaptchaThrottled = "captcha_throttled", TOO_MANY_REQUESTS, "图形验证失败次数过多，请稍后再试。";
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED, "当前密码不正确，请重新输入。";
    AccountArchived = "account_archived", FORBIDDEN, "该账号已由证件号码的本人申诉取回，请使用新账号登录。";
    AccountLocked = "account_locked", TOO_MANY_REQUESTS, "登录失败次数过多，账号已被临时锁定，请稍后再试。";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "操作过于频繁，请稍后再试。";
    TooManyAttempts = "too_many_attempts", TOO_MANY_REQUESTS, "账号申诉提交次数过多，请明天再试。";
    NotLoggedIn = "not_logged_in", UNAUTHORIZED, "请先以工作人员身份登录审核系统。";
    Forbidden = "forbidden", FORBIDDEN, "只有管理员可以查询审计日志。";
    Csrf = "csrf", FORBIDDEN, "请求来源不被允许，请从中国教师资格网页面操作。";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, "提交的内容过大，超过了允许的上限，请精简或压缩后重新提交。";
    NotFound = "not_found", NOT_FOUND, "没有这条修改联系方式申请。";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "该接口不支持此请求方法，请检查请求方法。";
    UriTooLong = "uri_too_long", URI_TOO_LONG, "请求地址过长，请检查后重新提交。";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT, "请求内容发送超时，请检查网络后重新提交。";
    SmsUnavailable = "sms_unavailable", SERVICE_UNAVAILABLE, "当前短信验证码发送量已达系统上限，请稍后再试；也可选择“微信扫码验证”。";
    EmailUnavailable = "email_unavailable", SERVICE_UNAVAILABLE, "当前邮件验证码发送量已达系统上限，请稍后再试。";
    ServerBusy = "server_busy", SERVICE_UNAVAILABLE, "当前访问人数较多，请稍后重试。";
    IdentityMismatch = "identity_mismatch", UNPROCESSABLE_ENTITY, "证件类型、证件号码或姓名与注册信息不一致，无法重置密码。请核对后重新输入。";
    LegacyAccount = "legacy_account", CONFLICT, "2019年3月1日之前注册的账号，不能进行密码重置，需要重新注册账号。请点击“注册”，使用相同的证件号码重新注册。";
    RecoveryExpired = "recovery_expired", GONE, "操作已超时，请重新输入证件类型、证件号码和姓名。";
    TokenInvalid = "token_invalid", GONE, "该修改联系方式申请已审核完毕、已撤销或链接已失效，无需再撤销。";
    PhotosDeleted = "photos_deleted", GONE, "该申请的照片已按保存期限删除。";
    EnrolledMustLogin = "enrolled_must_login", CONFLICT, "您已进行认定或定期注册的报名，不允许提交修改联系方式申请，请登录账号后自行修改相应联系方式！";
    ChangePending = "change_pending", CONFLICT, "您已提交修改联系方式申请，请耐心等待审核结果通知，在此期间不可反复提交修改申请。";
    AlreadyDecided = "already_decided", CONFLICT, "该申请已由其他工作人员处理。";
    PasswordChangeRequired = "password_change_required", FORBIDDEN, "请先修改初始密码，再使用审核系统。";
    UnknownEntry = "unknown_entry", NOT_FOUND, "没有这个业务入口。";
    UnknownAccount = "unknown_account", NOT_FOUND, "没有这个证件号码的账号。";
    InvalidClient = "invalid_client", UNAUTHORIZED, "业务系统身份验证失败。";
    UpstreamExpired = "upstream_expired", GONE, "教育部账号登录已超时（需在10分钟内完成）。请返回登录页重新点击“教育部账号登录”。";
    UpstreamLinkConflict = "upstream_link_conflict", CONFLICT, "该证件号码的账号已关联另一个教育部账号。请使用证件号码和密码登录，在个人信息中心解除原关联后再试。";
    WechatNotConfigured = "wechat_not_configured", NOT_FOUND, "本站未开通微信服务号功能，请选择其他方式。";
    WechatUnavailable = "wechat_unavailable", SERVICE_UNAVAILABLE, "微信服务暂时不可用，请稍后重试。";
    WechatNotBound = "wechat_not_bound", CONFLICT, "该账号未绑定微信服务号，请选择其他方式重置密码。";
    Internal = "internal", INTERNAL_SERVER_ERROR, "系统繁忙，请稍后重试。";
    InvalidBirthDate = "invalid_birth_date", UNPROCESSABLE_ENTITY, "请填写正确的出生日期（年-月-日），不能晚于今天。";
    InvalidEthnicity = "invalid_ethnicity", UNPROCESSABLE_ENTITY, "请选择民族。";
    InvalidKey = "invalid_key", UNPROCESSABLE_ENTITY, "菜单键须为1至128个字符。";
    InvalidLocalIdNumber = "invalid_local_id_number", UNPROCESSABLE_ENTITY, "请填写港澳或台湾当地有效身份证件号码（字母、数字，6至20位）。";
    InvalidOpenid = "invalid_openid", UNPROCESSABLE_ENTITY, "openid 须为1至64位字母、数字、“-”或“_”。";
    InvalidPermitNumber = "invalid_permit_number", UNPROCESSABLE_ENTITY, "请填写正确的通行证号码。";
    InvalidSex = "invalid_sex", UNPROCESSABLE_ENTITY, "请选择性别。";
    InvalidText = "invalid_text", UNPROCESSABLE_ENTITY, "请输入消息内容。";
    InvalidUsername = "invalid_username", UNPROCESSABLE_ENTITY, "用户名须为3至32位小写字母、数字、“.”、“_”或“-”。";
    NoEmail = "no_email", CONFLICT, "该账号未绑定安全邮箱，请选择其他方式。";
    NoPhone = "no_phone", CONFLICT, "该账号未绑定手机号码，请选择其他方式。";
    NotFollowing = "not_following", CONFLICT, "请先关注“中国教师资格服务号”。";
    QrUnknown = "qr_unknown", NOT_FOUND, "没有这个二维码，请在网页上重新获取二维码。";
    RehashPending = "rehash_pending", CONFLICT, "密码算法切换尚未完成，请先运行 jszg keys rotate 至结束。";
    StaffExists = "staff_exists", CONFLICT, "该用户名的工作人员已存在。";
    UpstreamStateInvalid = "upstream_state_invalid", BAD_REQUEST, "登录请求无效或已使用过，请返回登录页重新点击“教育部账号登录”。";
    UpstreamInvalid = "upstream_invalid", BAD_GATEWAY, "未能通过教育部统一身份认证平台确认您的身份，请返回登录页重试，或使用证件号码和密码登录。";
    UpstreamDenied = "upstream_denied", FORBIDDEN, "您在教育部统一身份认证平台取消了授权，未能登录。可返回登录页重试，或使用证件号码和密码登录。";
    UpstreamDocInvalid = "upstream_doc_invalid", UNPROCESSABLE_ENTITY, "教育部统一身份认证平台提供的证件号码无法识别，请使用证件号码和密码登录。";
    UpstreamNotConfigured = "upstream_not_configured", NOT_FOUND, "本系统尚未配置教育部统一身份认证平台登录，请使用证件号码和密码登录。";
    UpstreamUnavailable = "upstream_unavailable", SERVICE_UNAVAILABLE, "教育部统一身份认证平台暂时无法访问，请稍后再试，或使用证件号码和密码登录。";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::ErrorCode;

    /// docs/api.md's error table: each code with the statuses of the rows naming it (`None` for a
    /// row that says the code never reaches HTTP).
    fn documented() -> BTreeMap<String, Option<BTreeSet<u16>>> {
        let mut out: BTreeMap<String, Option<BTreeSet<u16>>> = BTreeMap::new();
        for row in include_str!("../../../../docs/api.md").lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (names, statuses) = (cells[1], cells[2]);
            let statuses: Option<BTreeSet<u16>> = (statuses != "—")
                .then(|| statuses.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect());
            for name in names.split(',').map(|n| n.trim().trim_matches('`')) {
                let entry = out.entry(name.to_owned()).or_insert_with(|| Some(BTreeSet::new()));
                match (entry.as_mut(), &statuses) {
                    (Some(all), Some(these)) => all.extend(these),
                    _ => *entry = None,
                }
            }
        }
        out
    }

    #[test]
    fn the_api_docs_list_every_code_and_nothing_else() {
        let docs = documented();
        let ours: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let listed: BTreeSet<&str> = docs.keys().map(String::as_str).collect();
        assert_eq!(ours.difference(&listed).collect::<Vec<_>>(), Vec::<&&str>::new(), "codes missing from docs/api.md");
        assert_eq!(listed.difference(&ours).collect::<Vec<_>>(), Vec::<&&str>::new(), "docs/api.md lists codes that do not exist");
        for code in ErrorCode::ALL {
            if let Some(Some(statuses)) = docs.get(code.as_str()) {
                assert!(statuses.contains(&code.status().as_u16()), "{code}: {} not in docs/api.md's {statuses:?}", code.status());
            }
        }
    }

    #[test]
    fn codes_are_unique_and_messages_chinese() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert!(code.message().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {}", code.message());
        }
    }
}
