//! `iamsnap-testkit entra` serves a tenant and says where, as scripts expect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn prints_the_address_when_ready_and_serves_tokens_and_graph() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamsnap-testkit"))
        .args([
            "entra",
            "--port",
            "0",
            "--tenant",
            "fabrikam",
            "--client-id",
            "cli-app",
        ])
        .args([
            "--client-secret",
            "cli-secret",
            "--users",
            "120",
            "--groups",
            "6",
        ])
        .args([
            "--apps",
            "2",
            "--policies",
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
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on http://"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(address.starts_with("127.0.0.1:"), "{address}");

    let form = format!(
        "grant_type=client_credentials&client_id=cli-app&client_secret=cli-secret&scope=http%3A%2F%2F{address}%2F.default"
    );
    let token = http(
        &address,
        &format!(
            "POST /fabrikam/oauth2/v2.0/token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!(token.starts_with("HTTP/1.1 200"), "{token}");
    let body = &token[token.find("\r\n\r\n").unwrap() + 4..];
    let answer: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3599);
    let access = answer["access_token"].as_str().unwrap();

    let users = http(
        &address,
        &format!(
            "GET /v1.0/users?$top=100&$select=id,userPrincipalName HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {access}\r\nConnection: close\r\n\r\n"
        ),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(users.starts_with("HTTP/1.1 200"), "{users}");
    assert!(
        users.contains("@odata.nextLink") && users.contains("%24skiptoken="),
        "{users}"
    );
    assert!(users.contains("\"userPrincipalName\""), "{users}");
    assert!(
        !users.contains("\"displayName\""),
        "$select is applied: {users}"
    );
}
