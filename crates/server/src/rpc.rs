//! The RPC endpoint: from HTTP request to Alibaba-shaped response.

use crate::auth::{self, Caller};
use crate::error::HandlerError;
use crate::state::AppState;
use crate::{actions, MAX_BODY_BYTES};
use axum::body::Body;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tracing::{debug, error, warn, Instrument};
use xbak_protocol::actions::{Action, Request, API_VERSION};
use xbak_protocol::request_id::new_request_id;
use xbak_protocol::sign::IncomingRequest;
use xbak_protocol::{render, ApiError, Format, RawParams};

/// `/`: every action, GET or POST.
pub async fn handle(State(state): State<AppState>, req: HttpRequest) -> Response {
    let request_id = new_request_id();
    let span = tracing::info_span!("rpc", request_id = %request_id);
    async move {
        let (parts, body) = req.into_parts();
        let query = RawParams::parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes());
        let body = match read_body(body, state.config.body_timeout).await {
            Ok(b) => b,
            Err(refusal) => {
                let format =
                    Format::negotiate(query.get("Format"), header_str(&parts.headers, "accept"));
                return error_response(&state, &HandlerError::Api(refusal), &request_id, format);
            }
        };
        // The merged params are the query's own unless a form body adds to them (no copy).
        let form_params;
        let params = if is_form(&parts.headers) {
            let mut merged = query.clone();
            merged.extend(RawParams::parse_urlencoded(&body));
            form_params = merged;
            &form_params
        } else {
            &query
        };
        let format = Format::negotiate(params.get("Format"), header_str(&parts.headers, "accept"));
        let headers = lower_case_headers(&parts.headers);
        let incoming = IncomingRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: &query,
            params,
            headers: &headers,
            body: &body,
        };
        let resp = match serve(&state, &parts.method, &incoming, &request_id).await {
            Ok(body) => {
                debug!("ok");
                success_response(body, &request_id, format)
            }
            Err(failure) => error_response(&state, &failure, &request_id, format),
        };
        state.metrics.record_rpc(resp.status().as_u16());
        resp
    }
    .instrument(span)
    .await
}

/// Most bytes of an over-long body read (and dropped) before answering `RequestEntityTooLarge`:
/// a client that does not wait for `100 Continue` is still writing, and answering while it
/// writes resets the connection before it reads the answer.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// The body, if it is at most [`MAX_BODY_BYTES`] and arrives within `deadline`.
async fn read_body(body: Body, deadline: std::time::Duration) -> Result<Bytes, ApiError> {
    let read = async {
        let mut stream = body.into_data_stream();
        let mut kept = BytesMut::new();
        let mut seen = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| ApiError::BodyTooLarge)?;
            seen = seen.saturating_add(chunk.len());
            if seen <= MAX_BODY_BYTES {
                kept.extend_from_slice(&chunk);
            } else if seen > DRAIN_BYTES {
                break;
            }
        }
        if seen > MAX_BODY_BYTES {
            Err(ApiError::BodyTooLarge)
        } else {
            Ok(kept.freeze())
        }
    };
    tokio::time::timeout(deadline, read)
        .await
        .unwrap_or(Err(ApiError::RequestTimeout))
}

async fn serve(
    state: &AppState,
    method: &Method,
    req: &IncomingRequest<'_>,
    request_id: &str,
) -> Result<Body, HandlerError> {
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::UnsupportedHttpMethod.into());
    }
    let action_name = req
        .params
        .get("Action")
        .or_else(|| header_of(req, "x-acs-action"));
    let action_name = action_name
        .filter(|a| !a.is_empty())
        .ok_or(ApiError::Missing("Action"))?;
    let action = Action::from_name(action_name).ok_or(ApiError::InvalidActionNotFound)?;
    let version = req
        .params
        .get("Version")
        .or_else(|| header_of(req, "x-acs-version"));
    match version.filter(|v| !v.is_empty()) {
        None => return Err(ApiError::Missing("Version").into()),
        Some(v) if v != API_VERSION => return Err(ApiError::InvalidVersion.into()),
        Some(_) => {}
    }
    let verified = auth::verify(state, req).await?;
    let key = &verified.caller.access_key_id;
    let answer = run(state, action, req, &verified.caller, request_id);
    // A read-only action runs while its nonce is claimed (in the catalog: a round trip on every
    // call's path), its budget spent first, and is answered once the claim is won; a refusal
    // is the call's answer, as if admission had come first (a refused claim gives the budget
    // back).
    if !reads_only(action) || auth::spend_budget(state, key).is_err() {
        auth::admit(state, &verified).await?;
        return answer.await;
    }
    let claim = async {
        let claimed = auth::claim_nonce(state, &verified).await;
        if claimed.is_err() {
            state.budgets.give_back(key);
        }
        claimed
    };
    tokio::pin!(claim, answer);
    tokio::select! {
        biased;
        claimed = &mut claim => {
            claimed?;
            answer.await
        }
        answered = &mut answer => {
            claim.await?;
            answered
        }
    }
}

/// Whether `action` changes nothing, so that running it before its call is admitted (see
/// [`serve`]) costs at most the work of a call that is then refused: a read, cache entries of
/// what any caller may read (each checked for access when used), a log line. A replay costs
/// that once per server (a refused nonce is remembered); a throttled call costs nothing, the
/// budget being spent first. No wildcard arm: each new action is placed here on purpose.
fn reads_only(action: Action) -> bool {
    match action {
        Action::DescribeCrossRegionBackups
        | Action::DescribeInstanceCrossBackupPolicy
        | Action::DescribeAvailableCrossRegion
        | Action::DescribeCrossRegionBackupDBInstance
        | Action::DescribeCrossBackupMetaList
        | Action::DescribeBinlogFiles
        | Action::DescribeCrossRegionLogBackupFiles
        | Action::DescribeAvailableRecoveryTime => true,
        Action::ModifyInstanceCrossBackupPolicy => false,
    }
}

/// Decodes and runs an authenticated call.
async fn run(
    state: &AppState,
    action: Action,
    req: &IncomingRequest<'_>,
    caller: &Caller,
    request_id: &str,
) -> Result<Body, HandlerError> {
    let request = Request::decode(action, req.params)?;
    let format = Format::negotiate(req.params.get("Format"), header_of(req, "accept"));
    let call = actions::Call {
        state,
        caller,
        request_id,
        format,
    };
    actions::dispatch(&call, request).await
}

fn header_of<'a>(req: &'a IncomingRequest<'_>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_form(headers: &HeaderMap) -> bool {
    header_str(headers, "content-type")
        .map(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

fn lower_case_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    // HeaderName is already lower-case in `http`.
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                match v.to_str() {
                    Ok(visible) => visible.to_owned(),
                    Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                },
            )
        })
        .collect()
}

fn success_response(body: Body, request_id: &str, format: Format) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    resp
}

/// The one place failures become Alibaba error envelopes.
pub fn error_response(
    state: &AppState,
    failure: &HandlerError,
    request_id: &str,
    format: Format,
) -> Response {
    let api_error = match failure {
        HandlerError::Api(e) => {
            debug!(code = %e.code(), "refused");
            e.clone()
        }
        HandlerError::Internal(cause) => {
            error!(cause = %cause, "internal error");
            ApiError::InternalError
        }
        HandlerError::Unavailable(cause) => {
            warn!(cause = %cause, "catalog unavailable");
            ApiError::ServiceUnavailable
        }
    };
    let body = render::render_error(&api_error, request_id, &state.config.host_id, format);
    let mut resp = success_response(Body::from(body), request_id, format);
    *resp.status_mut() =
        StatusCode::from_u16(api_error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let ApiError::Throttling { retry_after_ms } = api_error {
        resp.headers_mut()
            .insert("x-acs-retry-after", HeaderValue::from(retry_after_ms));
    }
    resp
}

/// Any other path: Alibaba's gateway answers unknown APIs with `InvalidAction.NotFound`.
pub async fn not_found(State(state): State<AppState>, req: HttpRequest) -> Response {
    let request_id = new_request_id();
    let format = Format::negotiate(None, header_str(req.headers(), "accept"));
    error_response(
        &state,
        &HandlerError::Api(ApiError::InvalidActionNotFound),
        &request_id,
        format,
    )
}
