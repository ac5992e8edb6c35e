//! A few counters exposed in the Prometheus text format at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub requests: [AtomicU64; 5],
    pub request_micros: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub forbidden: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, status: u16, micros: u64) {
        let class = ((status / 100).clamp(1, 5) - 1) as usize;
        self.requests[class].fetch_add(1, Ordering::Relaxed);
        self.request_micros.fetch_add(micros, Ordering::Relaxed);
        if status == 403 {
            self.forbidden.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self, db_up: bool, backend: &str) -> String {
        let mut s = String::new();
        s.push_str("# HELP quittance_http_requests_total HTTP requests answered, by status class.\n");
        s.push_str("# TYPE quittance_http_requests_total counter\n");
        for (i, c) in self.requests.iter().enumerate() {
            s.push_str(&format!(
                "quittance_http_requests_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            ));
        }
        s.push_str("# HELP quittance_http_request_duration_seconds_sum Time spent answering requests.\n");
        s.push_str("# TYPE quittance_http_request_duration_seconds_sum counter\n");
        s.push_str(&format!(
            "quittance_http_request_duration_seconds_sum {:.6}\n",
            self.request_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        s.push_str("# HELP quittance_logins_total Login attempts, by outcome.\n# TYPE quittance_logins_total counter\n");
        s.push_str(&format!("quittance_logins_total{{outcome=\"ok\"}} {}\n", self.logins_ok.load(Ordering::Relaxed)));
        s.push_str(&format!(
            "quittance_logins_total{{outcome=\"refused\"}} {}\n",
            self.logins_failed.load(Ordering::Relaxed)
        ));
        s.push_str("# HELP quittance_forbidden_total Requests refused for lack of a role.\n# TYPE quittance_forbidden_total counter\n");
        s.push_str(&format!("quittance_forbidden_total {}\n", self.forbidden.load(Ordering::Relaxed)));
        s.push_str("# HELP quittance_database_up Whether the database answers.\n# TYPE quittance_database_up gauge\n");
        s.push_str(&format!("quittance_database_up{{backend=\"{backend}\"}} {}\n", u8::from(db_up)));
        s
    }
}
