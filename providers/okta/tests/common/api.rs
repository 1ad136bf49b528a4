//! The emulated org's Management API, called directly: the status, headers and JSON body of
//! each answer.

use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Api {
    pub okta: RunningOkta,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    /// An org of `users` users, 12 groups and 4 apps.
    pub async fn new(users: usize) -> Api {
        Api::start(OktaEmulator::builder().users(users).groups(12).apps(4)).await
    }

    /// The org `builder` describes, seed 21, token `tok`.
    pub async fn start(builder: OktaEmulator) -> Api {
        let okta = builder.seed(21).token("tok").start().await.unwrap();
        Api {
            okta,
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.okta.base_url())
        };
        let mut req = self
            .http
            .request(method, url)
            .header("Authorization", "SSWS tok");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
}
