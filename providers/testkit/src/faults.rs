//! A fault-injecting HTTP/1.1 proxy on loopback, put between iamsnap and an emulator or moto.
//!
//! Every request is read whole from the client, shown to a [`FaultPlan`], and then either
//! forwarded to the upstream server (on a fresh connection) or answered with a fault: an
//! error status (429 with or without rate-limit headers, AWS's `Throttling`, 5xx), a connection reset, an
//! answer whose body is cut short, or a delay before forwarding.
//!
//! ```no_run
//! # async fn demo() {
//! use iamsnap_testkit::faults::{Fault, FaultProxy, RequestInfo};
//! let proxy = FaultProxy::start("http://127.0.0.1:8080", |req: &RequestInfo| {
//!     if req.index % 5 == 0 { Fault::Status(503) } else { Fault::Pass }
//! })
//! .await
//! .expect("proxy");
//! println!("{}", proxy.url());
//! # }
//! ```
//!
//! Upstream's address in answer headers (`Link: <http://upstream/…>`, `Location`) is
//! rewritten to the proxy's, so paging stays behind the proxy. Bodies are forwarded as they are.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and return upstream's answer.
    Pass,
    /// Answer with this status and a JSON error body, without forwarding.
    Status(u16),
    /// `429` with `X-Rate-Limit-Limit/Remaining/Reset` (Okta) and `Retry-After` absent.
    RateLimitedWithReset,
    /// `429` without any header saying when to come back.
    RateLimitedBare,
    /// `429` with `Retry-After: N` seconds (Microsoft Graph).
    RetryAfter(u64),
    /// `400` with an AWS query-protocol `Throttling` error (`Rate exceeded`), as IAM answers
    /// once an account's request rate is spent.
    AwsThrottling,
    /// `400` with an AWS JSON-protocol `ThrottlingException` (`x-amzn-errortype` and
    /// `__type`), as sso-admin, identitystore and Organizations answer.
    AwsJsonThrottling,
    /// Close the client's connection with a TCP reset, without forwarding.
    Reset,
    /// Forward it, then send the answer's head and only half its body, and close.
    Truncate,
    /// Wait this long, then forward it.
    Delay(Duration),
    /// Read the request, wait this long, then reset the connection without forwarding.
    Stall(Duration),
    /// Answer with this status and a body that echoes the request back, its headers (the
    /// credential's among them) and body included, as misconfigured gateways and debugging
    /// proxies do: an HTML page, or with `json` an error body in Okta's and Graph's shapes.
    Echo { status: u16, json: bool },
}

impl Fault {
    /// A short name, for counters.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Status(s) if *s >= 500 => "5xx",
            Fault::Status(_) => "4xx",
            Fault::RateLimitedWithReset => "429-reset",
            Fault::RateLimitedBare => "429-bare",
            Fault::RetryAfter(_) => "429-retry-after",
            Fault::AwsThrottling => "aws-throttling",
            Fault::AwsJsonThrottling => "aws-json-throttling",
            Fault::Reset => "reset",
            Fault::Truncate => "truncate",
            Fault::Delay(_) => "delay",
            Fault::Stall(_) => "stall",
            Fault::Echo { .. } => "echo",
        }
    }
}

/// One request as the plan sees it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// 0 for the first request the proxy received, then 1, 2, …
    pub index: u64,
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
}

/// Decides the fault of each request; called once per request, in arrival order.
pub trait FaultPlan: Send + 'static {
    fn decide(&mut self, request: &RequestInfo) -> Fault;
}

impl<F: FnMut(&RequestInfo) -> Fault + Send + 'static> FaultPlan for F {
    fn decide(&mut self, request: &RequestInfo) -> Fault {
        self(request)
    }
}

struct Shared {
    upstream: String,
    authority: Mutex<String>,
    plan: Mutex<Box<dyn FaultPlan>>,
    next_index: AtomicU64,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

/// A running proxy; it stops accepting connections when dropped.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("url", &self.url)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, plan: impl FaultPlan) -> io::Result<FaultProxy> {
        let upstream = upstream
            .strip_prefix("http://")
            .ok_or_else(|| io::Error::other("the upstream must be an http:// URL"))?
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let authority = format!("127.0.0.1:{}", listener.local_addr()?.port());
        let shared = Arc::new(Shared {
            upstream,
            authority: Mutex::new(authority.clone()),
            plan: Mutex::new(Box::new(plan)),
            next_index: AtomicU64::new(0),
            counts: Mutex::new(BTreeMap::new()),
        });
        let (tx, mut rx) = oneshot::channel::<()>();
        let accepting = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let shared = accepting.clone();
                        tokio::spawn(async move {
                            let _ = serve(stream, shared).await;
                        });
                    }
                }
            }
        });
        Ok(FaultProxy {
            url: format!("http://{authority}"),
            shared,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`, to configure instead of the upstream's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the plan for the requests still to come.
    pub fn set_plan(&self, plan: impl FaultPlan) {
        *lock(&self.shared.plan) = Box::new(plan);
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.next_index.load(Ordering::SeqCst)
    }

    /// Faults injected so far (every request not simply passed through).
    pub fn injected(&self) -> u64 {
        lock(&self.shared.counts)
            .iter()
            .filter(|(name, _)| **name != "pass")
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests per fault name ([`Fault::name`]).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        lock(&self.shared.counts).clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request read from the client: its head (without the final blank line) and its body
/// exactly as framed on the wire.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The client asked to close the connection after the answer.
    close: bool,
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut client, &mut buffer).await? else {
            return Ok(());
        };
        let info = RequestInfo {
            index: shared.next_index.fetch_add(1, Ordering::SeqCst),
            method: request.method.clone(),
            target: request.target.clone(),
        };
        let fault = lock(&shared.plan).decide(&info);
        *lock(&shared.counts).entry(fault.name()).or_default() += 1;
        match fault {
            Fault::Pass => {
                if !forward(&mut client, &shared, &request, false).await? {
                    return Ok(());
                }
            }
            Fault::Delay(wait) => {
                tokio::time::sleep(wait).await;
                if !forward(&mut client, &shared, &request, false).await? {
                    return Ok(());
                }
            }
            Fault::Truncate => {
                forward(&mut client, &shared, &request, true).await?;
                return Ok(());
            }
            Fault::Reset => return reset(client),
            Fault::Stall(wait) => {
                tokio::time::sleep(wait).await;
                return reset(client);
            }
            Fault::Status(status) => {
                client.write_all(&error_answer(status, &[])).await?;
                if request.close {
                    return Ok(());
                }
            }
            Fault::RateLimitedWithReset => {
                let reset_at = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
                    + 1;
                let headers = [
                    ("X-Rate-Limit-Limit", "600".to_string()),
                    ("X-Rate-Limit-Remaining", "0".to_string()),
                    ("X-Rate-Limit-Reset", reset_at.to_string()),
                ];
                client.write_all(&error_answer(429, &headers)).await?;
                if request.close {
                    return Ok(());
                }
            }
            Fault::RetryAfter(secs) => {
                let headers = [("Retry-After", secs.to_string())];
                client.write_all(&error_answer(429, &headers)).await?;
                if request.close {
                    return Ok(());
                }
            }
            Fault::RateLimitedBare => {
                client.write_all(&error_answer(429, &[])).await?;
                if request.close {
                    return Ok(());
                }
            }
            Fault::AwsThrottling | Fault::AwsJsonThrottling => {
                let answer = if fault == Fault::AwsThrottling {
                    aws_throttling_answer()
                } else {
                    aws_json_throttling_answer()
                };
                client.write_all(&answer).await?;
                if request.close {
                    return Ok(());
                }
            }
            Fault::Echo { status, json } => {
                client
                    .write_all(&echo_answer(status, json, &request))
                    .await?;
                if request.close {
                    return Ok(());
                }
            }
        }
    }
}

fn reset(client: TcpStream) -> io::Result<()> {
    client.set_zero_linger()?;
    drop(client);
    Ok(())
}

/// An error answer in Okta's shape (which S3 clients read as an unknown error code).
fn error_answer(status: u16, headers: &[(&str, String)]) -> Vec<u8> {
    let body = format!(
        "{{\"errorCode\":\"E0000009\",\"errorSummary\":\"Injected fault: HTTP {status}\",\"errorCauses\":[]}}"
    );
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// IAM's answer to a request over the account's rate: HTTP 400 with a `Sender` error whose
/// code is `Throttling`, in the query protocol's XML.
fn aws_throttling_answer() -> Vec<u8> {
    let body = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>";
    let mut out = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn aws_json_throttling_answer() -> Vec<u8> {
    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let mut out = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-errortype: ThrottlingException\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// An error answer whose body is `request` itself, as text.
fn echo_answer(status: u16, json: bool, request: &Request) -> Vec<u8> {
    let mut echoed = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        echoed.push_str(&format!("{name}: {value}\r\n"));
    }
    echoed.push_str("\r\n");
    echoed.push_str(&String::from_utf8_lossy(&request.body));
    let (content_type, body) = if json {
        let summary = format!("The gateway refused the request: {echoed}");
        let body = serde_json::json!({
            "errorCode": "E0000001",
            "errorSummary": summary,
            "errorCauses": [],
            "error": {"code": "BadGateway", "message": summary},
        });
        ("application/json", body.to_string())
    } else {
        (
            "text/html",
            format!(
                "<html><head><title>{status} {}</title></head><body><pre>{echoed}</pre></body></html>",
                reason(status)
            ),
        )
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Sends `request` upstream on a new connection and relays the answer; `truncate` cuts the
/// answer's body in half. Returns whether the client's connection can carry another request.
async fn forward(
    client: &mut TcpStream,
    shared: &Shared,
    request: &Request,
    truncate: bool,
) -> io::Result<bool> {
    let mut upstream = TcpStream::connect(&shared.upstream).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "connection" || lower == "expect" || lower == "keep-alive" {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&request.body).await?;
    upstream.flush().await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    let Some(end) = find(&answer, b"\r\n\r\n") else {
        // Upstream failed to answer: the client sees its connection reset.
        client.set_zero_linger()?;
        return Ok(false);
    };
    let authority = lock(&shared.authority).clone();
    let mut head =
        String::from_utf8_lossy(&answer[..end + 4]).replace(&shared.upstream, &authority);
    let mut body = answer[end + 4..].to_vec();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if !chunked && find(&body, shared.upstream.as_bytes()).is_some() {
        // Graph's `@odata.nextLink` and Okta's `_links` are absolute URLs in the body.
        body = String::from_utf8_lossy(&body)
            .replace(&shared.upstream, &authority)
            .into_bytes();
        head = set_content_length(&head, body.len());
    }
    client.write_all(head.as_bytes()).await?;
    if truncate {
        client.write_all(&body[..body.len() / 2]).await?;
        client.flush().await?;
        return Ok(false);
    }
    client.write_all(&body).await?;
    client.flush().await?;
    // Upstream closed after answering ("connection: close" went up, and comes back down).
    Ok(!head.to_ascii_lowercase().contains("connection: close"))
}

/// `head` (ending in a blank line) with its `Content-Length` set to `length`.
fn set_content_length(head: &str, length: usize) -> String {
    let mut out = String::new();
    for line in head.split_inclusive("\r\n") {
        if line
            .split_once(':')
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        {
            out.push_str(&format!("content-length: {length}\r\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Reads one request (head and framed body) from `client`; `None` at a clean end of stream.
async fn read_request(client: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 1 << 20 {
            return Err(io::Error::other("request head too long"));
        }
        if read_more(client, buffer).await? == 0 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    if header("expect").is_some_and(|v| v == "100-continue") {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(client, buffer).await?
    } else {
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < length {
            if read_more(client, buffer).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        buffer.drain(..length).collect()
    };
    let close = header("connection").is_some_and(|v| v == "close");
    Ok(Some(Request {
        method,
        target,
        close,
        headers,
        body,
    }))
}

/// A chunked body, framing included, up to and including its last (empty) chunk's trailer.
async fn read_chunked(client: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(end) = find(buffer, b"\r\n") {
                break end;
            }
            if read_more(client, buffer).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| io::Error::other("bad chunk size"))?;
        if size == 0 {
            // The last chunk, then optional trailers, then a blank line.
            loop {
                if let Some(end) = find(&buffer[line_end..], b"\r\n\r\n") {
                    let total = line_end + end + 4;
                    body.extend(buffer.drain(..total));
                    return Ok(body);
                }
                if read_more(client, buffer).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
        let total = line_end + 2 + size + 2;
        while buffer.len() < total {
            if read_more(client, buffer).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        body.extend(buffer.drain(..total));
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &str) -> io::Result<(u16, String)> {
        let authority = url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(authority).await?;
        stream
            .write_all(b"GET /x HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((status, text))
    }

    #[tokio::test]
    async fn forwards_injects_and_counts() {
        let app = axum::Router::new().route(
            "/x",
            axum::routing::get(|| async { "0123456789abcdefghij" }),
        );
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let upstream = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let proxy = FaultProxy::start(&upstream, |req: &RequestInfo| match req.index {
            0 => Fault::Pass,
            1 => Fault::Status(503),
            2 => Fault::RateLimitedWithReset,
            3 => Fault::Truncate,
            4 => Fault::AwsThrottling,
            _ => Fault::Reset,
        })
        .await
        .unwrap();
        let (status, text) = get(proxy.url()).await.unwrap();
        assert_eq!(status, 200);
        assert!(text.ends_with("0123456789abcdefghij"), "{text}");
        assert_eq!(get(proxy.url()).await.unwrap().0, 503);
        let (status, text) = get(proxy.url()).await.unwrap();
        assert_eq!(status, 429);
        assert!(text.contains("X-Rate-Limit-Reset"));
        let (status, text) = get(proxy.url()).await.unwrap();
        assert_eq!(status, 200);
        assert!(text.ends_with("\r\n\r\n0123456789"), "{text}");
        let (status, text) = get(proxy.url()).await.unwrap();
        assert_eq!(status, 400);
        assert!(text.contains("<Code>Throttling</Code>"), "{text}");
        let reset = get(proxy.url()).await;
        assert!(
            reset.as_ref().is_err() || reset.as_ref().is_ok_and(|(s, _)| *s == 0),
            "{reset:?}"
        );
        assert_eq!(proxy.requests(), 6);
        assert!(proxy.injected() >= 5);
    }

    #[tokio::test]
    async fn rewrites_upstream_urls_in_headers_and_bodies() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let upstream = format!("http://{}", listener.local_addr().unwrap());
        let next = format!("{upstream}/x?after=2");
        let app = axum::Router::new().route(
            "/x",
            axum::routing::get(move || {
                let next = next.clone();
                async move {
                    (
                        [("link", format!("<{next}>; rel=\"next\""))],
                        format!("{{\"@odata.nextLink\":\"{next}\"}}"),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let proxy = FaultProxy::start(&upstream, |_: &RequestInfo| Fault::Pass)
            .await
            .unwrap();
        let (status, text) = get(proxy.url()).await.unwrap();
        assert_eq!(status, 200);
        let expected = format!("{}/x?after=2", proxy.url());
        assert!(text.contains(&format!("<{expected}>")), "{text}");
        let body = format!("{{\"@odata.nextLink\":\"{expected}\"}}");
        assert!(text.ends_with(&body), "{text}");
        assert!(
            text.to_ascii_lowercase()
                .contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        assert!(!text.contains(&upstream), "{text}");
    }
}
