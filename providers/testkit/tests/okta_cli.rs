//! `iamsnap-testkit okta` serves an org and says where, as scripts expect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn prints_the_address_when_ready_and_serves_the_seeded_org() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamsnap-testkit"))
        .args([
            "okta",
            "--port",
            "0",
            "--token",
            "cli-token",
            "--users",
            "250",
        ])
        .args([
            "--groups",
            "10",
            "--apps",
            "3",
            "--seed",
            "4",
            "--rate-limit",
            "600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(address.starts_with("127.0.0.1:"), "{address}");

    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /api/v1/users?limit=1 HTTP/1.1\r\nHost: {address}\r\nAuthorization: SSWS cli-token\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let lower = response.to_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{response}");
    assert!(lower.contains("x-rate-limit-limit: 600"), "{response}");
    assert!(lower.contains("rel=\"next\""), "{response}");
    assert!(response.contains("\"login\""), "{response}");
}

/// `METHOD path` against the org at `address`: the status code and the body.
fn call(address: &str, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: SSWS cli-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn ids(body: &str) -> Vec<String> {
    let list: serde_json::Value = serde_json::from_str(body).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_consistency_delay_keeps_a_new_member_out_of_the_list_for_a_while() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamsnap-testkit"))
        .args([
            "okta",
            "--port",
            "0",
            "--token",
            "cli-token",
            "--users",
            "30",
        ])
        .args([
            "--groups",
            "5",
            "--apps",
            "0",
            "--consistency-delay-ms",
            "600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .trim_start_matches("listening on http://")
        .to_string();
    let (_, groups) = call(
        &address,
        "GET",
        "/api/v1/groups?search=type%20eq%20%22OKTA_GROUP%22",
    );
    let group = ids(&groups)[0].clone();
    let members = format!("/api/v1/groups/{group}/users");
    let before = ids(&call(&address, "GET", &members).1);
    let users = ids(&call(&address, "GET", "/api/v1/users").1);
    let user = users.iter().find(|u| !before.contains(u)).unwrap();
    let (status, _) = call(&address, "PUT", &format!("{members}/{user}"));
    let right_after = ids(&call(&address, "GET", &members).1);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let later = ids(&call(&address, "GET", &members).1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 204);
    assert!(
        !right_after.contains(user),
        "not listed right after the 204"
    );
    assert!(later.contains(user), "listed once the delay is over");
}
