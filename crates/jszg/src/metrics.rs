//! Request counters of this process, rendered at `/metrics` by the HTTP layer.
//! Labels are route patterns, methods and statuses only: never raw paths.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
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
}
