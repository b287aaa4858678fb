//! The seeded server in process: requests go through the app with `tower`'s `oneshot`, no
//! socket.

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use chrono::Utc;
use http_body_util::BodyExt;
use std::ops::Deref;
use tower::ServiceExt;
use xbak_server::{app, AppState};

use crate::seed::{listing, Seeded, Setup};
use crate::sign::v1_request;

/// Base URL of the download links an in-process [`Fixture`] signs (nothing listens there: a
/// test strips it and sends the path through [`Fixture::send`]).
pub const LINK_BASE: &str = "http://127.0.0.1:9";

/// A [`Seeded`] world (reachable through `Deref`) and the server's state on it.
pub struct Fixture {
    pub seeded: Seeded,
    pub state: AppState,
}

impl Deref for Fixture {
    type Target = Seeded;

    fn deref(&self) -> &Seeded {
        &self.seeded
    }
}

impl Fixture {
    /// A world seeded with the default [`Setup`] and `sets` backup sets.
    pub async fn new(sets: usize) -> Fixture {
        let seeded = Seeded::new(&Setup::sets(sets)).await;
        let state = seeded.app_state(LINK_BASE).await;
        Fixture { seeded, state }
    }

    /// Sends `req` through the app: `(status, content type, body, headers)`.
    pub async fn send(&self, req: Request<Body>) -> (u16, String, Vec<u8>, HeaderMap) {
        send_to(&self.state, req).await
    }

    /// Sends `req`, which must answer `status` in XML: `(body text, headers)`.
    pub async fn send_xml(&self, req: Request<Body>, status: u16) -> (String, HeaderMap) {
        let (got, ct, body, headers) = self.send(req).await;
        let text = String::from_utf8(body).unwrap();
        assert_eq!(got, status, "{text}");
        assert_eq!(ct, "text/xml;charset=utf-8", "{text}");
        (text, headers)
    }

    /// A v1-signed GET by account A with `params` plus the common parameters, JSON.
    pub fn v1_get(&self, params: &[(&str, &str)]) -> Request<Body> {
        v1_request("GET", &self.ak, &self.secret, params, Utc::now())
    }

    /// A v1-signed call by account A, and the JSON body the server returned.
    pub async fn describe(&self, params: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let (status, _, body, _) = self.send(self.v1_get(params)).await;
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body))),
        )
    }

    /// The catalog's instance `db_instance_id`, which must exist.
    pub async fn instance(&self, db_instance_id: &str) -> xbak_domain::Instance {
        self.catalog
            .instance_by_db_instance_id(db_instance_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no instance {db_instance_id}"))
    }

    /// Claims the next queued copy, which must be `copy_id`, and completes it (`ok`) or fails it
    /// for good, as a worker would.
    pub async fn finish_copy(&self, copy_id: i64, ok: bool) {
        let job = self
            .catalog
            .claim_copy_job(Utc::now(), std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .expect("a queued copy");
        assert_eq!(job.copy_id, copy_id);
        if ok {
            self.catalog
                .complete_copy(copy_id, &job.lease_token, Utc::now())
                .await
                .unwrap();
        } else {
            self.catalog
                .fail_copy_attempt(copy_id, &job.lease_token, "gave up", None)
                .await
                .unwrap();
        }
    }

    /// [`Fixture::describe`] of `action` with `params`.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let mut all = vec![("Action", action)];
        all.extend_from_slice(params);
        self.describe(&all).await
    }

    /// [`Fixture::call`], which must answer 200: the body.
    pub async fn call_ok(&self, action: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let (status, body) = self.call(action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }

    /// `action` with `params` in XML, which must answer 200: the body text.
    pub async fn call_xml(&self, action: &str, params: &[(&str, &str)]) -> String {
        let mut all = vec![("Action", action), ("Format", "XML")];
        all.extend_from_slice(params);
        self.send_xml(self.v1_get(&all), 200).await.0
    }

    /// [`Fixture::describe`] of the [`listing`] over every seeded set
    /// (the whole [`Seeded::window`]), with `extra` parameters added.
    pub async fn list(&self, extra: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let (start, end) = self.window();
        let mut params = listing(&start, &end).to_vec();
        params.extend_from_slice(extra);
        self.describe(&params).await
    }
}

/// The `Expires` of a download link (Unix seconds).
pub fn expires_of(link: &str) -> i64 {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("Expires="))
        .unwrap_or_else(|| panic!("no Expires in {link}"))
        .parse()
        .unwrap()
}

/// Sends `req` through an app on `state`: `(status, content type, body, headers)`.
pub async fn send_to(state: &AppState, req: Request<Body>) -> (u16, String, Vec<u8>, HeaderMap) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body, headers)
}
