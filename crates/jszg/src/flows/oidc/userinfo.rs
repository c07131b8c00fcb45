//! The claims by scope, and the userinfo endpoint (Core 5.3).

use super::*;

/// Claims by scope: `profile` → name; `identity` → the document and real-name state; `email` →
/// email, email_verified; `phone` → phone_number (digits), phone_number_verified. Both contacts
/// were proven by a code at registration or at their change, so they are verified. A claim the
/// account has no value for is left out, never `null`.
pub fn scope_claims(app: &App, a: &Applicant, scope: &str) -> AppResult<Map<String, Value>> {
    let mut claims = Map::new();
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            claims.insert(name.into(), value);
        }
    };
    if scopes.contains(&"profile") {
        put("name", Some(a.row.name.clone().into()));
    }
    if scopes.contains(&"identity") {
        put("doc_type", Some(a.doc_type().as_str().into()));
        put("doc_number", Some(a.doc.as_str().into()));
        put("realname_status", Some(a.realname().as_str().into()));
        put("sex", a.sex().map(|s| s.as_str().into()));
        put("birth_date", a.birth_date().map(|d| d.to_string().into()));
        put("ethnicity", a.ethnicity().map(|e| e.code().into()));
    }
    if scopes.contains(&"email") {
        if let Some(email) = a.email(app)? {
            put("email", Some(email.into()));
            put("email_verified", Some(true.into()));
        }
    }
    if scopes.contains(&"phone") {
        if let Some(phone) = a.phone(app)? {
            put("phone_number", Some(phone.into()));
            put("phone_number_verified", Some(true.into()));
        }
    }
    Ok(claims)
}

/// The claims of `scope` as the applicant's access log names what a business received.
pub fn disclosed(scope: &str) -> Vec<&'static str> {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut out = vec!["sub"];
    if scopes.contains(&"profile") {
        out.push("name");
    }
    if scopes.contains(&"identity") {
        out.extend(["doc_type", "doc_number", "realname_status", "sex", "birth_date", "ethnicity"]);
    }
    if scopes.contains(&"email") {
        out.push("email");
    }
    if scopes.contains(&"phone") {
        out.push("phone_number");
    }
    out
}

/// Userinfo: the claims of a live access token; None if it is not one.
pub async fn userinfo(app: &App, access_token: &str) -> AppResult<Option<Map<String, Value>>> {
    if access_token.is_empty() || access_token.len() > 128 {
        return Ok(None);
    }
    let Some(token) = store::find_token(&app.db, &token_hash(app, access_token), app.clock.unix()).await? else { return Ok(None) };
    let Some(account) = accounts::find_by_id(&app.db, token.account_id).await? else { return Ok(None) };
    let applicant = Applicant::open(app, account)?;
    let mut claims = Map::new();
    claims.insert("sub".into(), subject(app, applicant.id()).into());
    claims.extend(scope_claims(app, &applicant, &token.scope)?);
    tracing::debug!(client_id = %token.client_id, "userinfo served");
    Ok(Some(claims))
}
