//! CloudTrail's event history in front of moto, which has none: an HTTP front that forwards
//! every request to moto unchanged, records each successful change made through IAM,
//! Identity Center (sso-admin, identitystore) and Organizations as a CloudTrail record
//! ([`record`]), and answers `LookupEvents` itself from the CloudTrail API reference (JSON 1.1,
//! `X-Amz-Target: CloudTrail_20131101.LookupEvents`): one lookup attribute at most, newest
//! events first, `MaxResults` up to 50 and `NextToken` paging, the reference's error bodies,
//! and two lookups per second per account and region, beyond which it answers
//! `ThrottlingException`.
//!
//! ```no_run
//! use iamsnap_testkit::{cloudtrail::CloudTrailFront, moto::MotoServer};
//! let moto = MotoServer::start();
//! let front = CloudTrailFront::start(&moto.endpoint);
//! println!("point every AWS client at {}", front.url());
//! ```
//!
//! Callers are named by the access key they sign with: a key created through the front
//! (`CreateAccessKey`) is its IAM user's; any other key (moto's `testing`) is the account's
//! root.

pub mod record;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use record::{Principals, Recorded, Request};

/// The operation the front answers itself.
const LOOKUP: &str = "CloudTrail_20131101.LookupEvents";

/// Lookups CloudTrail answers per second per account and region.
const LOOKUPS_PER_SECOND: usize = 2;

/// Headers that belong to one connection, not to the request or answer forwarded.
const HOP: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
];

struct Shared {
    upstream: String,
    http: reqwest::Client,
    trail: Mutex<Trail>,
}

#[derive(Default)]
struct Trail {
    principals: Principals,
    events: Vec<Recorded>,
    seq: u64,
    /// When each region's recent lookups came, for the rate limit.
    lookups: HashMap<String, VecDeque<Instant>>,
}

/// A running front, stopped when dropped.
pub struct CloudTrailFront {
    url: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl CloudTrailFront {
    /// Starts a front forwarding to `upstream` (`http://127.0.0.1:PORT`, moto's server) on a
    /// runtime of its own, so that tests without one can use it.
    pub fn start(upstream: &str) -> CloudTrailFront {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the CloudTrail front");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            trail: Mutex::new(Trail::default()),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port for the CloudTrail front");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the front's address")
        );
        let app = Router::new()
            .fallback(handle)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CloudTrailFront {
            url,
            shared,
            runtime: Some(runtime),
        }
    }

    /// The endpoint URL to give every AWS client.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The names of the recorded calls, oldest first: what a test made happen.
    pub fn recorded(&self) -> Vec<String> {
        let trail = self.shared.trail.lock().expect("trail lock");
        trail.events.iter().map(|e| e.name.clone()).collect()
    }
}

impl Drop for CloudTrailFront {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-amz-target") == Some(LOOKUP) {
        let region = header("authorization")
            .and_then(record::credential)
            .map(|(_, region, _)| region)
            .unwrap_or_else(|| "us-east-1".into());
        return lookup(&shared, &region, &body);
    }
    let mut forward = shared.http.request(
        method,
        format!(
            "{}{}",
            shared.upstream,
            uri.path_and_query().map_or("/", |p| p.as_str())
        ),
    );
    for (name, value) in &headers {
        if !HOP.contains(&name.as_str()) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body.clone()).send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !HOP.contains(&name.as_str()) {
            out_headers.append(name, value.clone());
        }
    }
    let answered = answer.bytes().await.unwrap_or_default();
    if status.is_success() {
        let request = Request {
            target: header("x-amz-target"),
            authorization: header("authorization"),
            content_type: header("content-type"),
            user_agent: header("user-agent"),
            body: &body,
            peer: peer.ip().to_string(),
        };
        let mut trail = shared.trail.lock().expect("trail lock");
        let seq = trail.seq + 1;
        let Trail {
            principals, events, ..
        } = &mut *trail;
        if let Some(made) = record::record(principals, &request, &answered, seq, Utc::now()) {
            events.push(made);
            trail.seq = seq;
        }
    }
    let mut response = Response::new(Body::from(answered));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}

/// An error in CloudTrail's JSON 1.1 shape.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"__type": code, "message": message})),
    )
        .into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// The attribute keys the reference lists for `LookupAttributes`.
const ATTRIBUTES: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

fn matches(event: &Recorded, key: &str, value: &str) -> bool {
    match key {
        "EventId" => event.id == value,
        "EventName" => event.name == value,
        "ReadOnly" => event.read_only.to_string() == value,
        "Username" => event.username == value,
        "ResourceType" => event.resources.iter().any(|(t, _)| t == value),
        "ResourceName" => event.resources.iter().any(|(_, n)| n == value),
        "EventSource" => event.source == value,
        "AccessKeyId" => event.access_key == value,
        _ => false,
    }
}

/// A JSON 1.1 timestamp: seconds since the epoch, with a fraction.
fn time(value: &Value) -> Option<DateTime<Utc>> {
    let seconds = value.as_f64()?;
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
}

fn lookup(shared: &Shared, region: &str, body: &[u8]) -> Response {
    let bad = |code: &str, message: &str| error(StatusCode::BAD_REQUEST, code, message);
    let mut trail = shared.trail.lock().expect("trail lock");
    let recent = trail.lookups.entry(region.to_string()).or_default();
    let now = Instant::now();
    while recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        recent.pop_front();
    }
    if recent.len() >= LOOKUPS_PER_SECOND {
        return bad("ThrottlingException", "Rate exceeded");
    }
    recent.push_back(now);
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return bad("SerializationException", "the request body is not JSON");
    };
    let attributes = input["LookupAttributes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if attributes.len() > 1 {
        return bad(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        );
    }
    let attribute = match attributes.first() {
        Some(a) => {
            let key = a["AttributeKey"].as_str().unwrap_or_default();
            let value = a["AttributeValue"].as_str().unwrap_or_default();
            if !ATTRIBUTES.contains(&key) || value.is_empty() {
                return bad(
                    "InvalidLookupAttributesException",
                    &format!("Lookup attribute {key:?} with value {value:?} is not valid."),
                );
            }
            Some((key.to_string(), value.to_string()))
        }
        None => None,
    };
    let start = time(&input["StartTime"]);
    let end = time(&input["EndTime"]);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return bad(
            "InvalidTimeRangeException",
            "Start time must be before end time.",
        );
    }
    let page = match input["MaxResults"].as_i64() {
        None => 50,
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(_) => {
            return bad(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            );
        }
    };
    // A token is the sequence number of the last event given and the query it belongs to.
    let query = format!("{attribute:?}{start:?}{end:?}");
    let before = match input["NextToken"].as_str() {
        None => u64::MAX,
        Some(token) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|t| t.split_once('|')) {
                Some((seq, q)) if q == query => match seq.parse() {
                    Ok(seq) => seq,
                    Err(_) => return bad("InvalidNextTokenException", "Invalid NextToken."),
                },
                _ => return bad("InvalidNextTokenException", "Invalid NextToken."),
            }
        }
    };
    let mut found: Vec<&Recorded> = trail
        .events
        .iter()
        .rev()
        .filter(|e| e.region == region && e.seq < before)
        .filter(|e| start.is_none_or(|s| e.time >= s) && end.is_none_or(|t| e.time <= t))
        .filter(|e| attribute.as_ref().is_none_or(|(k, v)| matches(e, k, v)))
        .take(page + 1)
        .collect();
    let more = found.len() > page;
    found.truncate(page);
    let events: Vec<Value> = found
        .iter()
        .map(|e| {
            json!({
                "EventId": e.id,
                "EventName": e.name,
                "ReadOnly": e.read_only.to_string(),
                "AccessKeyId": e.access_key,
                "EventTime": e.time.timestamp_millis() as f64 / 1000.0,
                "EventSource": e.source,
                "Username": e.username,
                "Resources": e.resources.iter().map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
                "CloudTrailEvent": e.body.to_string(),
            })
        })
        .collect();
    let mut answer = json!({ "Events": events });
    if more && let Some(last) = found.last() {
        answer["NextToken"] = Value::String(
            base64::engine::general_purpose::STANDARD.encode(format!("{}|{query}", last.seq)),
        );
    }
    let mut response = axum::Json(answer).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    drop(trail);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SubsecRound;

    fn recorded(seq: u64, name: &str, source: &str) -> Recorded {
        Recorded {
            seq,
            id: format!("id-{seq}"),
            time: Utc::now().trunc_subsecs(0),
            region: "us-east-1".into(),
            name: name.into(),
            source: source.into(),
            access_key: "AKIAEVE".into(),
            username: "eve".into(),
            resources: Vec::new(),
            read_only: false,
            body: json!({"eventName": name}),
        }
    }

    /// One `LookupEvents` call: the status and the answer.
    async fn call(url: &str, body: Value) -> (u16, Value) {
        let answer = reqwest::Client::new()
            .post(url)
            .header("x-amz-target", LOOKUP)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap())
    }

    #[test]
    fn lookups_page_newest_first_refuse_bad_input_and_throttle_past_two_a_second() {
        let front = CloudTrailFront::start("http://127.0.0.1:9");
        {
            let mut trail = front.shared.trail.lock().unwrap();
            for seq in 1..=120 {
                let source = if seq % 2 == 0 {
                    "iam.amazonaws.com"
                } else {
                    "organizations.amazonaws.com"
                };
                trail
                    .events
                    .push(recorded(seq, &format!("Delete{seq}"), source));
            }
        }
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let url = front.url();
            let iam =
                json!([{"AttributeKey": "EventSource", "AttributeValue": "iam.amazonaws.com"}]);
            let mut names = Vec::new();
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let mut body = json!({"LookupAttributes": iam, "MaxResults": 25});
                if let Some(t) = &token {
                    body["NextToken"] = json!(t);
                }
                let (status, page) = call(url, body).await;
                assert_eq!(status, 200, "{page}");
                pages += 1;
                names.extend(
                    page["Events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["EventName"].as_str().unwrap().to_string()),
                );
                match page["NextToken"].as_str() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
            assert_eq!(pages, 3);
            assert_eq!(names.len(), 60);
            assert_eq!(names[0], "Delete120", "newest first");
            assert_eq!(names[59], "Delete2");

            tokio::time::sleep(Duration::from_secs(1)).await;
            let two = json!([{"AttributeKey": "EventSource", "AttributeValue": "a"},
                             {"AttributeKey": "EventName", "AttributeValue": "b"}]);
            let (status, error) = call(url, json!({"LookupAttributes": two})).await;
            assert_eq!(
                (status, error["__type"].as_str()),
                (400, Some("InvalidLookupAttributesException"))
            );
            let (_, error) = call(url, json!({"MaxResults": 51})).await;
            assert_eq!(error["__type"], "InvalidMaxResultsException");
            let (_, error) = call(url, json!({})).await;
            assert_eq!(
                error["__type"], "ThrottlingException",
                "a third lookup within the second"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (_, error) = call(url, json!({"StartTime": 20.0, "EndTime": 10.0})).await;
            assert_eq!(error["__type"], "InvalidTimeRangeException");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (_, error) = call(url, json!({"NextToken": "bm90IGEgdG9rZW4="})).await;
            assert_eq!(error["__type"], "InvalidNextTokenException");
        });
    }
}
