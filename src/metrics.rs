//! This application's metrics, for Prometheus: what the front ends record (HTTP requests,
//! tokens issued and refused, webhook syncs) and the password hasher's counters, read when
//! the text is rendered. The JSON API serves it (`GET /metrics`, `http::metrics`) and
//! tags every response with its route; the job runner counts its syncs.
//!
//! Each application owns its own [`PrometheusRecorder`], which is never installed as the
//! process-wide `metrics` recorder: we record through it directly ([`Metrics`]). So a
//! process (a test binary) can build any number of apps, each with counts of its own, and
//! there is no global singleton to race on. The cost per request is two registry look-ups
//! (a hash and a sharded read lock inside `metrics-util`) and two atomic updates; nothing
//! takes a process-wide lock.
//!
//! Label values come from bounded sets only: the HTTP method (unknown methods are `other`),
//! the matched route *template* (`/user/tokens/{id}`, never the raw path; `unmatched` when
//! no route matched), the status code, a grant type the server knows, an RFC 6749 error
//! code. No secret and no user-controlled string ever becomes a label.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use crate::domain::GrantType;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Seconds: from a cached answer to a slow password grant.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const TOKENS_ISSUED: &str = "oauth_tokens_issued_total";
const TOKEN_ERRORS: &str = "oauth_token_errors_total";
const HASHES_IN_FLIGHT: &str = "password_hashes_in_flight";
const HASHES_DONE: &str = "password_hashes_total";
const GIT_SYNCS: &str = "git_syncs_total";

/// The outcomes of a webhook sync, the values of `git_syncs_total`'s `outcome` label.
pub const SYNC_OUTCOMES: [&str; 4] = ["ok", "refused", "failed", "skipped"];

/// The metrics of one application. Cheap to clone: one shared pointer (the edge layer
/// clones it for every request).
#[derive(Clone)]
pub struct Metrics(Arc<Parts>);

/// What [`Metrics`] shares.
struct Parts {
    recorder: PrometheusRecorder,
    /// The request series already registered, by route template: recording a request is
    /// then a read lock, a short scan and two atomic updates, with no key to build.
    routes: RwLock<HashMap<String, RouteSeries>>,
    /// The issued-token counter of each grant type, registered once: counting a token is
    /// then an atomic add, with no key to build and look up.
    tokens_issued: [(GrantType, metrics::Counter); GrantType::ALL.len()],
}

/// The series of one route template.
struct RouteSeries {
    duration: metrics::Histogram,
    /// Requests by (method label, status).
    requests: Vec<(&'static str, u16, metrics::Counter)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with our histogram buckets and descriptions.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &DURATION_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let describe = |name: &'static str, unit: Option<Unit>, text: &'static str| {
            (
                KeyName::from_const_str(name),
                unit,
                SharedString::const_str(text),
            )
        };
        let (n, u, d) = describe(REQUESTS, None, "HTTP requests answered, by route template");
        recorder.describe_counter(n, u, d);
        let (n, u, d) = describe(
            DURATION,
            Some(Unit::Seconds),
            "Time to answer an HTTP request, by route template",
        );
        recorder.describe_histogram(n, u, d);
        let (n, u, d) = describe(TOKENS_ISSUED, None, "Access tokens issued, by grant type");
        recorder.describe_counter(n, u, d);
        let (n, u, d) = describe(
            TOKEN_ERRORS,
            None,
            "Token requests refused, by RFC 6749 error code",
        );
        recorder.describe_counter(n, u, d);
        let (n, u, d) = describe(
            HASHES_IN_FLIGHT,
            None,
            "Password hashes and verifications waiting for or running on a hashing thread",
        );
        recorder.describe_gauge(n, u, d);
        let (n, u, d) = describe(
            HASHES_DONE,
            None,
            "Password hashes and verifications finished",
        );
        recorder.describe_counter(n, u, d);
        let (n, u, d) = describe(
            GIT_SYNCS,
            None,
            "Webhook syncs finished, by outcome: ok, refused (by the outbound-fetch policy, \
             nothing contacted), failed, skipped (the add-on was deleted or changed owner)",
        );
        recorder.describe_counter(n, u, d);
        let tokens_issued = GrantType::ALL.map(|grant| {
            let key = Key::from_parts(
                TOKENS_ISSUED,
                vec![Label::from_static_parts("grant_type", grant.as_str())],
            );
            (grant, recorder.register_counter(&key, &METADATA))
        });
        // Every grant's series exists from the start at 0, so that `rate()` and alerts see
        // the first token rather than a series appearing out of nothing.
        for (_, counter) in &tokens_issued {
            counter.absolute(0);
        }
        let metrics = Metrics(Arc::new(Parts {
            recorder,
            routes: RwLock::default(),
            tokens_issued,
        }));
        for outcome in SYNC_OUTCOMES {
            metrics.sync_counter(outcome).absolute(0);
        }
        metrics
    }

    fn sync_counter(&self, outcome: &'static str) -> metrics::Counter {
        let key = Key::from_parts(
            GIT_SYNCS,
            vec![Label::from_static_parts("outcome", outcome)],
        );
        self.0.recorder.register_counter(&key, &METADATA)
    }

    /// Counts a finished webhook sync; `outcome` is one of [`SYNC_OUTCOMES`].
    pub fn git_sync(&self, outcome: &'static str) {
        self.sync_counter(outcome).increment(1);
    }

    /// Counts an answered request and its duration; `method` is a label of a bounded set
    /// (the standard methods, and `other`).
    pub fn record_request(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        {
            let routes = self.0.routes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = routes.get(route)
                && let Some((_, _, counter)) = series
                    .requests
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            {
                counter.increment(1);
                series.duration.record(seconds);
                return;
            }
        }
        let mut routes = self
            .0
            .routes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let series = routes.entry(route.to_owned()).or_insert_with(|| {
            let key = Key::from_parts(DURATION, vec![Label::new("route", route.to_owned())]);
            RouteSeries {
                duration: self.0.recorder.register_histogram(&key, &METADATA),
                requests: Vec::new(),
            }
        });
        let counter = match series
            .requests
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, counter)) => counter.clone(),
            None => {
                let key = Key::from_parts(
                    REQUESTS,
                    vec![
                        Label::from_static_parts("method", method),
                        Label::new("route", route.to_owned()),
                        Label::new("status", status.to_string()),
                    ],
                );
                let counter = self.0.recorder.register_counter(&key, &METADATA);
                series.requests.push((method, status, counter.clone()));
                counter
            }
        };
        counter.increment(1);
        series.duration.record(seconds);
    }

    /// Counts an access token issued by `grant`.
    pub fn token_issued(&self, grant: GrantType) {
        if let Some((_, counter)) = self.0.tokens_issued.iter().find(|(g, _)| *g == grant) {
            counter.increment(1);
        }
    }

    /// Counts a refused token request by its RFC 6749 error code (a fixed set of
    /// `&'static str`, never text from the request).
    pub fn token_error(&self, error: &'static str) {
        let key = Key::from_parts(TOKEN_ERRORS, vec![Label::from_static_parts("error", error)]);
        self.0
            .recorder
            .register_counter(&key, &METADATA)
            .increment(1);
    }

    /// The text exposition, with the password hasher's numbers (hashes in flight, hashes
    /// done) read at this moment.
    pub fn render(&self, hashes_in_flight: u64, hashes_done: u64) -> String {
        let gauge = Key::from_static_name(HASHES_IN_FLIGHT);
        self.0
            .recorder
            .register_gauge(&gauge, &METADATA)
            .set(hashes_in_flight as f64);
        let done = Key::from_static_name(HASHES_DONE);
        self.0
            .recorder
            .register_counter(&done, &METADATA)
            .absolute(hashes_done);
        let handle = self.0.recorder.handle();
        handle.run_upkeep();
        handle.render()
    }
}
