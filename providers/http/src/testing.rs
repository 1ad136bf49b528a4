//! What the tests of several modules share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ErrorBody;

/// A header map of `(name, value)` pairs.
pub(crate) fn header_map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

/// A provider's error format: `{"fault": {"id": …, "text": …}}`, read as `id: text`.
#[derive(Debug)]
pub(crate) struct Fault;

impl ErrorBody for Fault {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let fault = value.get("fault")?;
        Some(format!(
            "{}: {}",
            fault["id"].as_str()?,
            fault["text"].as_str()?
        ))
    }
}

/// A one-shot HTTP/1.1 server answering each connection with the next canned response (the
/// last one again once they run out) and recording every request, head and body.
pub(crate) async fn serve(responses: Vec<String>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let request = read_request(&mut stream).await;
            log.lock().unwrap().push(request);
            let i = next.fetch_add(1, Ordering::SeqCst);
            let response = responses
                .get(i)
                .cloned()
                .unwrap_or_else(|| responses.last().cloned().unwrap());
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (addr, seen)
}

/// One request, read until its head and the `Content-Length` bytes of its body are in: a
/// client may send the body in a write of its own.
async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        request.extend_from_slice(&buf[..n]);
        let complete = request
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .is_some_and(|end| {
                let length = String::from_utf8_lossy(&request[..end])
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                request.len() >= end + 4 + length
            });
        if n == 0 || complete {
            return String::from_utf8_lossy(&request).to_string();
        }
    }
}

/// An HTTP/1.1 answer with a JSON `body`; `extra` holds further header lines, each ending in
/// `\r\n`.
pub(crate) fn reply(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
