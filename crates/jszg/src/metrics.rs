//! Counters of this process, rendered at `/metrics` by the HTTP layer.
//! Labels are route patterns, methods and statuses only: never raw paths.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Events an operator alerts on. Each instance counts its own; Prometheus sums them
/// (`sum(rate(jszg_login_failures_total[5m]))`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// A login refused for a wrong password or an unknown number (ABUSE-3).
    LoginFailures,
    /// A code refused because every source together spent the hour's or day's SMS budget.
    SmsBudgetExhausted,
    EmailBudgetExhausted,
    /// A code refused by an address or network quota.
    SmsRateLimited,
    EmailRateLimited,
    RegistrationsRefused,
}

impl Counter {
    pub const ALL: [Counter; 6] = [
        Counter::LoginFailures,
        Counter::SmsBudgetExhausted,
        Counter::EmailBudgetExhausted,
        Counter::SmsRateLimited,
        Counter::EmailRateLimited,
        Counter::RegistrationsRefused,
    ];

    /// Metric name and help text.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Counter::LoginFailures => ("jszg_login_failures_total", "Password logins refused (wrong password or unknown number)."),
            Counter::SmsBudgetExhausted => {
                ("jszg_sms_budget_exhausted_total", "SMS codes refused because the global hourly or daily budget is spent.")
            }
            Counter::EmailBudgetExhausted => {
                ("jszg_email_budget_exhausted_total", "Email codes refused because the global hourly or daily budget is spent.")
            }
            Counter::SmsRateLimited => ("jszg_sms_rate_limited_total", "SMS codes refused by a per-address or per-network quota."),
            Counter::EmailRateLimited => ("jszg_email_rate_limited_total", "Email codes refused by a per-address or per-network quota."),
            Counter::RegistrationsRefused => ("jszg_registrations_rate_limited_total", "Registrations refused by a per-address or per-network quota."),
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    counters: [AtomicU64; Counter::ALL.len()],
}

impl Metrics {
    pub fn count(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
    }

    /// Counts so far, by (method, route pattern, status).
    pub fn snapshot(&self) -> Vec<((String, String, u16), u64)> {
        self.requests.lock().map(|map| map.iter().map(|(k, n)| (k.clone(), *n)).collect()).unwrap_or_default()
    }

    pub fn bump(&self, counter: Counter) {
        self.counters[counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, counter: Counter) -> u64 {
        self.counters[counter as usize].load(Ordering::Relaxed)
    }
}
