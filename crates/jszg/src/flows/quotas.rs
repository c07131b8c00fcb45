//! Quotas per source (ABUSE-1, ABUSE-3): what one address, the network around it and everybody
//! together may spend of something that costs money or invites abuse (SMS and email codes,
//! registrations). Units are taken in the caller's transaction, after every cheap check and
//! together with the thing they pay for, so only what is really sent is counted and two
//! instances on one database agree to the unit.

use std::net::IpAddr;

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::metrics::Counter;
use crate::store::throttles::{self, Window};
use crate::store::Tx;

const HOUR: i64 = 3600;

/// Where a request comes from: the client address (the TCP peer, or the proxy's
/// `X-Forwarded-For` hop under `trust_forwarded_for`) and its network, the IPv4 /24 or IPv6 /64
/// that one household, school or carrier NAT usually holds. Kept in the database only as keyed
/// hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    address: String,
    network: String,
}

impl Source {
    /// An address that does not parse is its own network.
    pub fn new(raw: &str) -> Self {
        match raw.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(IpAddr::V4(v4)) => {
                let [a, b, c, _] = v4.octets();
                Self { address: v4.to_string(), network: format!("{a}.{b}.{c}.0/24") }
            }
            Ok(IpAddr::V6(v6)) => {
                let s = v6.segments();
                Self { address: v6.to_string(), network: format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]) }
            }
            Err(_) => Self { address: raw.to_owned(), network: raw.to_owned() },
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    /// The keyed hash that stands for the address under `scope`.
    pub fn address_key(&self, app: &App, scope: &str) -> Vec<u8> {
        app.vault.mac(&[scope.as_bytes(), b"address", self.address.as_bytes()])
    }

    pub fn network_key(&self, app: &App, scope: &str) -> Vec<u8> {
        app.vault.mac(&[scope.as_bytes(), b"network", self.network.as_bytes()])
    }
}

/// What a quota rations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rationed {
    SmsCodes,
    EmailCodes,
    Registrations,
}

/// Whose share a unit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Share {
    Address,
    Network,
    Everyone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    Hour,
    Day,
}

struct Quota {
    share: Share,
    period: Period,
    limit: i64,
}

impl Rationed {
    fn scope(self) -> &'static str {
        match self {
            Self::SmsCodes => "quota_sms",
            Self::EmailCodes => "quota_email",
            Self::Registrations => "quota_registrations",
        }
    }

    /// The quotas in the order they are taken: always the same order, so concurrent
    /// transactions lock the same rows in the same sequence; the shared total last, so its
    /// row is held the shortest.
    fn quotas(self, app: &App) -> Vec<Quota> {
        let l = &app.config.limits;
        let q = |share, period, limit| Quota { share, period, limit };
        use Period::{Day, Hour};
        use Share::{Address, Everyone, Network};
        match self {
            Self::SmsCodes => vec![
                q(Address, Hour, l.sms_per_address_hour),
                q(Address, Day, l.sms_per_address_day),
                q(Network, Hour, l.sms_per_network_hour),
                q(Network, Day, l.sms_per_network_day),
                q(Everyone, Hour, l.sms_global_hour),
                q(Everyone, Day, l.sms_global_day),
            ],
            Self::EmailCodes => vec![
                q(Address, Hour, l.email_per_address_hour),
                q(Address, Day, l.email_per_address_day),
                q(Network, Hour, l.email_per_network_hour),
                q(Network, Day, l.email_per_network_day),
                q(Everyone, Hour, l.email_global_hour),
                q(Everyone, Day, l.email_global_day),
            ],
            Self::Registrations => {
                vec![q(Address, Hour, l.registrations_per_address_hour), q(Network, Hour, l.registrations_per_network_hour)]
            }
        }
    }
}

/// Take one unit of every quota of `what` for `source` in `tx`. On refusal the caller rolls
/// `tx` back, which returns the units already taken.
pub async fn take(tx: &mut Tx, app: &App, source: &Source, what: Rationed) -> AppResult<()> {
    let now = app.clock.unix();
    let scope = what.scope();
    for quota in what.quotas(app) {
        let (key, label) = match quota.share {
            Share::Address => (source.address_key(app, scope), "address"),
            Share::Network => (source.network_key(app, scope), "network"),
            Share::Everyone => (app.vault.mac(&[scope.as_bytes(), b"everyone"]), "everyone"),
        };
        let (window, scope) = match quota.period {
            Period::Hour => (Window::from_first(now, HOUR), format!("{scope}_{label}_hour")),
            Period::Day => (Window::since(app.clock.today_starts_at()), format!("{scope}_{label}_day")),
        };
        if let Err(window_start) = throttles::take(tx, &scope, &key, window, quota.limit).await? {
            let retry_after = match quota.period {
                Period::Hour => window_start + HOUR - now,
                Period::Day => app.clock.secs_to_next_day(),
            };
            return Err(refusal(app, what, quota.share, retry_after));
        }
    }
    Ok(())
}

fn refusal(app: &App, what: Rationed, share: Share, retry_after: i64) -> AppError {
    if share == Share::Everyone {
        let (counter, code, message) = match what {
            Rationed::SmsCodes => (
                Counter::SmsBudgetExhausted,
                ErrorCode::SmsUnavailable,
                "当前短信验证码发送量已达系统上限，请稍后再试；注册时也可选择“微信扫码验证”，关注“中国教师资格网”服务号获取验证码。",
            ),
            Rationed::EmailCodes => {
                (Counter::EmailBudgetExhausted, ErrorCode::EmailUnavailable, "当前邮件验证码发送量已达系统上限，请稍后再试。")
            }
            Rationed::Registrations => (Counter::RegistrationsRefused, ErrorCode::RateLimited, "当前注册人数较多，请稍后再试。"),
        };
        app.metrics.bump(counter);
        tracing::warn!(rationed = ?what, retry_after, "the global budget is spent; refusing until the window ends");
        let err = AppError::new(code, message);
        return err.with("retry_after", retry_after.max(1));
    }
    let minutes = ((retry_after + 59) / 60).max(1);
    let what_zh = match what {
        Rationed::SmsCodes => "获取短信验证码",
        Rationed::EmailCodes => "获取邮箱验证码",
        Rationed::Registrations => "注册",
    };
    let whom = match share {
        Share::Network => "您所在网络",
        _ => "您的网络地址",
    };
    app.metrics.bump(match what {
        Rationed::SmsCodes => Counter::SmsRateLimited,
        Rationed::EmailCodes => Counter::EmailRateLimited,
        Rationed::Registrations => Counter::RegistrationsRefused,
    });
    AppError::too_many(
        ErrorCode::RateLimited,
        format!("{whom}{what_zh}的次数过多，请{minutes}分钟后再试。如在学校机房等多人共用网络的场所，可换用手机网络办理。"),
        Some(retry_after),
    )
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn networks_are_the_slash_24_or_slash_64() {
        let v4 = Source::new("203.0.113.77");
        assert_eq!((v4.address(), v4.network()), ("203.0.113.77", "203.0.113.0/24"));
        // An IPv4 client on a dual-stack socket is the same IPv4 client.
        let mapped = Source::new("::ffff:203.0.113.9");
        assert_eq!((mapped.address(), mapped.network()), ("203.0.113.9", "203.0.113.0/24"));
        let v6 = Source::new("2408:8207:1851:aa10:1c2d:3e4f:5a6b:7c8d");
        assert_eq!(v6.network(), "2408:8207:1851:aa10::/64");
        assert_eq!(Source::new("2408:8207:1851:aa10::1").network(), v6.network());
        assert_ne!(Source::new("2408:8207:1851:aa11::1").network(), v6.network());
        let odd = Source::new("unknown");
        assert_eq!((odd.address(), odd.network()), ("unknown", "unknown"));
    }
}
