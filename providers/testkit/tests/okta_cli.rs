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
