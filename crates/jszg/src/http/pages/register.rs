//! 注册 page (manual §2.2.1) and its success page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use jszg_domain::{DocType, Period};

use crate::app::App;
use crate::flows::upstream_login;

pub fn router() -> Router<App> {
    Router::new().route("/register", get(page)).route("/register/done", get(done))
}

#[derive(Deserialize)]
pub struct EntryQuery {
    pub entry: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    doc_types: Vec<(&'static str, &'static str)>,
    periods: Vec<(&'static str, &'static str)>,
    terms: Vec<TermsBlock>,
    today: String,
    entry: &'static str,
    back: String,
    /// 教育部账号登录 without an account: type, number and name, locked.
    upstream: Option<(&'static str, String, String)>,
    /// 微信扫码验证 is offered when the service account is configured; the QR picture if known.
    wechat: Option<String>,
    /// Development: the account is played by `/dev/wechat`.
    simulator: bool,
}

const BUILTIN_TERMS: &str = include_str!("../../../assets/terms.txt");

/// One block of the agreement as the dialog shows it.
#[derive(Debug, PartialEq, Eq)]
pub struct TermsBlock {
    /// `h` heading, `p` paragraph, `ol` numbered clauses, `ul` bullets.
    pub kind: &'static str,
    pub text: String,
    pub items: Vec<String>,
}

/// Read the operator's plain text the way a person wrote it: `一、…` or
/// `# …` lines are headings, `1.` / `（1）` lines numbered clauses (their
/// numbers kept as written), `-` / `•` lines bullets, other lines paragraphs
/// (lines of one paragraph joined: Chinese needs no space).
pub fn parse_terms(text: &str) -> Vec<TermsBlock> {
    fn heading(line: &str) -> Option<&str> {
        if let Some(rest) = line.strip_prefix('#') {
            return Some(rest.trim_start_matches('#').trim());
        }
        let numeral = line.chars().take_while(|c| "一二三四五六七八九十百".contains(*c)).count();
        let rest = line.char_indices().nth(numeral).map(|(i, _)| &line[i..]).unwrap_or("");
        (numeral > 0 && (rest.starts_with('、') || rest.starts_with('.'))).then_some(line)
    }
    fn numbered(line: &str) -> bool {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let after = line[digits..].chars().next();
        (digits > 0 && matches!(after, Some('.' | '．' | '、' | ')' | '）')))
            || ((line.starts_with('（') || line.starts_with('(')) && line.chars().nth(1).is_some_and(|c| c.is_ascii_digit()))
    }
    fn bullet(line: &str) -> Option<&str> {
        ["- ", "* ", "• ", "· "].iter().find_map(|p| line.strip_prefix(p)).map(str::trim)
    }
    let mut blocks: Vec<TermsBlock> = Vec::new();
    let mut para_open = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            para_open = false;
            continue;
        }
        let block = |kind, text: String, items| TermsBlock { kind, text, items };
        if let Some(h) = heading(line) {
            blocks.push(block("h", h.to_owned(), Vec::new()));
            para_open = false;
        } else if numbered(line) || bullet(line).is_some() {
            let (kind, item) = match bullet(line) {
                Some(b) => ("ul", b.to_owned()),
                None => ("ol", line.to_owned()),
            };
            match blocks.last_mut() {
                Some(last) if last.kind == kind => last.items.push(item),
                _ => blocks.push(block(kind, String::new(), vec![item])),
            }
            para_open = false;
        } else if para_open {
            if let Some(last) = blocks.last_mut() {
                last.text.push_str(line);
            }
        } else {
            blocks.push(block("p", line.to_owned(), Vec::new()));
            para_open = true;
        }
    }
    blocks
}

/// The agreement text: the operator's file when configured and readable,
/// else the built-in one. Read per view so a replaced file shows at once.
pub(super) async fn terms(app: &App) -> Vec<TermsBlock> {
    let text = match &app.config.terms_file {
        Some(path) => match tokio::fs::read_to_string(path).await {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "terms file unreadable; using the built-in text");
                BUILTIN_TERMS.to_owned()
            }
        },
        None => BUILTIN_TERMS.to_owned(),
    };
    parse_terms(&text)
}

async fn page(State(app): State<App>, Query(q): Query<EntryQuery>, headers: axum::http::HeaderMap) -> Response {
    let mut entry = super::entry_or_default(q.entry.as_deref());
    let pending = crate::http::session::cookie(&headers, upstream_login::PENDING_COOKIE);
    let upstream = match upstream_login::pending(&app, pending).await {
        Ok(Some(p)) if !p.needs_password() => {
            entry = p.entry.as_str();
            Some((p.doc_type.as_str(), p.doc_number, p.name))
        }
        Ok(_) => None,
        Err(err) => return axum::response::IntoResponse::into_response(err),
    };
    super::render(&RegisterPage {
        doc_types: DocType::ALL.iter().map(|t| (t.as_str(), t.label_zh())).collect(),
        periods: [Period::Y5, Period::Y10, Period::Y20, Period::Long].iter().map(|p| (p.as_str(), p.label_zh())).collect(),
        terms: terms(&app).await,
        today: jszg_domain::format_date(app.clock.today()),
        entry,
        back: format!("/login/{entry}"),
        upstream,
        wechat: app.wechat.as_ref().map(|w| w.follow_qr_url.clone().unwrap_or_default()),
        simulator: app.wechat_simulator().is_some(),
    })
}

#[derive(Template)]
#[template(path = "register_done.html")]
struct DonePage {
    login: String,
}

async fn done(Query(q): Query<EntryQuery>) -> Response {
    super::render(&DonePage { login: format!("/login/{}", super::entry_or_default(q.entry.as_deref())) })
}

#[cfg(test)]
mod tests {
    use super::parse_terms;

    #[test]
    fn terms_keep_headings_clauses_and_paragraphs() {
        let text = "欢迎注册。\n请仔细阅读。\n\n一、账号注册\n1. 账号为证件号码。\n2. 如实填写。\n（3）不得冒用。\n\n# 其他\n- 遵守法律\n• 解释权\n\n末段。";
        let blocks = parse_terms(text);
        let kinds: Vec<&str> = blocks.iter().map(|b| b.kind).collect();
        assert_eq!(kinds, ["p", "h", "ol", "h", "ul", "p"]);
        assert_eq!(blocks[0].text, "欢迎注册。请仔细阅读。");
        assert_eq!(blocks[1].text, "一、账号注册");
        assert_eq!(blocks[2].items, ["1. 账号为证件号码。", "2. 如实填写。", "（3）不得冒用。"]);
        assert_eq!(blocks[3].text, "其他");
        assert_eq!(blocks[4].items, ["遵守法律", "解释权"]);
        // Not headings: a word that merely starts with a numeral, a year.
        assert_eq!(parse_terms("十分感谢。")[0].kind, "p");
        assert_eq!(parse_terms("2026年起施行。")[0].kind, "p");
    }
}
