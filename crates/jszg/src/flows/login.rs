//! 登录 (LOGIN-1..3). An unknown number and a wrong password take the same
//! path, cost the same argon2 verification and give the same answer;
//! failures per number are counted in the database, slow the answer and
//! then lock the number; failures per source address and per network are throttled first, so
//! stuffing credentials across many numbers from one place costs like guessing one (ABUSE-3).

use std::time::Duration;

use jszg_domain::{LoginName, PasswordAttempt};

use crate::adapters::passwords::Verdict;
use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::stored_passwords;
use crate::vault::Holder;
use crate::flows::applicant::{Applicant, Entry};
use crate::flows::quotas::Source;
use crate::flows::sessions;
use crate::metrics::Counter;
use crate::store::{accounts, audit, logins, throttles};
use crate::vault::Field;

const ADDRESS_SCOPE: &str = "login_address";
const NETWORK_SCOPE: &str = "login_network";

pub struct LoggedIn {
    pub token: String,
    pub applicant: Applicant,
}

fn invalid_credentials() -> AppError {
    AppError::new(ErrorCode::InvalidCredentials, "账号或密码错误，请重新输入。")
}

fn locked(retry_after: i64) -> AppError {
    let minutes = ((retry_after + 59) / 60).max(1);
    AppError::too_many(
        ErrorCode::AccountLocked,
        format!("密码错误次数过多，账号已被临时锁定，请{minutes}分钟后再试。如忘记密码，请使用“忘记密码”重置。"),
        Some(retry_after),
    )
}

pub async fn login(app: &App, name: &LoginName, password: &PasswordAttempt, entry: Entry, source: &Source) -> AppResult<LoggedIn> {
    let policy = &app.config.login;
    let now = app.clock.unix();
    let address = source.address_key(app, ADDRESS_SCOPE);
    let network = source.network_key(app, NETWORK_SCOPE);
    for (scope, key, limit) in [(ADDRESS_SCOPE, &address, policy.address_limit), (NETWORK_SCOPE, &network, policy.network_limit)] {
        let (hits, window_end) = throttles::peek(&app.db, scope, key, now, policy.address_window_secs).await?;
        if hits >= limit {
            return Err(AppError::too_many(ErrorCode::TooManyAttempts, "登录失败次数过多，请稍后再试。", Some(window_end - now)));
        }
    }

    let doc_hash = app.vault.lookup(Field::DocNumber, name.as_str());
    let failures = logins::get(&app.db, &doc_hash).await?;
    if let Some(until) = failures.and_then(|f| f.locked_until).filter(|until| *until > now) {
        return Err(locked(until - now));
    }
    let count = failures.map(|f| f.failures).unwrap_or(0);
    if count >= policy.slow_after {
        let steps = (count - policy.slow_after + 1) as u64;
        let delay = (steps * policy.delay_step_ms).min(policy.max_delay_ms);
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    let account = accounts::find_live(&app.db, &app.vault.lookups(Field::DocNumber, name.as_str())).await?;
    let stored = match &account {
        Some(a) => stored_passwords::vouched(app, Holder::Account, a.id, a.password_hash.as_deref(), a.password_tag.as_deref()).await?,
        None => None,
    };
    let verdict = app.hasher.verify(password.expose_secret(), stored).await?;
    let (Verdict::Valid { rehash }, Some(account)) = (verdict, account) else {
        let recorded = logins::record(&app.db, &doc_hash, &logins::Policy::new(policy, now)).await?;
        throttles::hit(&app.db, ADDRESS_SCOPE, &address, now, policy.address_window_secs).await?;
        throttles::hit(&app.db, NETWORK_SCOPE, &network, now, policy.address_window_secs).await?;
        app.metrics.bump(Counter::LoginFailures);
        if recorded.failures == 0 && recorded.locked_until.is_some_and(|u| u > now) {
            tracing::info!("login locked a document number");
        }
        if lost_to_a_claim(app, name, password).await? {
            return Err(AppError::new(ErrorCode::AccountArchived, crate::flows::ownership_claims::ARCHIVED_MESSAGE));
        }
        return Err(invalid_credentials());
    };

    if failures.is_some() {
        logins::clear(&app.db, &doc_hash).await?;
    }
    if rehash {
        if let Some(old) = account.password_hash.as_deref() {
            let new = app.hasher.hash(password.expose_secret()).await?;
            let tag = stored_passwords::tag(app, Holder::Account, account.id, &new);
            accounts::upgrade_password_hash(&app.db, account.id, old, &new, &tag).await?;
        }
    }
    sign_in(app, account, entry, "login").await
}

/// Whether the password opens the account this number had before an ownership claim took it
/// (REG-7): its holder is told what happened, as the SMS and mail did, instead of a bare
/// "wrong password". Only someone who knows that account's password learns it, so it tells a
/// stranger nothing; it costs a second hash only on numbers that lost a claim.
async fn lost_to_a_claim(app: &App, name: &LoginName, password: &PasswordAttempt) -> AppResult<bool> {
    let Some(old) = accounts::find_archived(&app.db, &app.vault.lookups(Field::DocNumber, name.as_str()), crate::flows::ownership_claims::ARCHIVED_REASON).await? else {
        return Ok(false);
    };
    let Some(stored) = stored_passwords::vouched(app, Holder::Account, old.id, old.password_hash.as_deref(), old.password_tag.as_deref()).await? else {
        return Ok(false);
    };
    Ok(matches!(app.hasher.verify(password.expose_secret(), Some(stored)).await?, Verdict::Valid { .. }))
}

/// Start a session for an account whose owner has been proven (by password
/// or upstream), with its audit entry; `action` names how.
pub async fn sign_in(app: &App, account: accounts::Account, entry: Entry, action: &'static str) -> AppResult<LoggedIn> {
    let mut tx = app.db.begin().await?;
    let token = sessions::start(&mut tx, app, account.id, entry).await?;
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), account.id, action, entry.as_str())).await?;
    tx.commit().await?;
    Ok(LoggedIn { token, applicant: Applicant::open(app, account)? })
}
