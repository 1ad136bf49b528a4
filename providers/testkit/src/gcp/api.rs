//! Google's error bodies: `{"error": {"code", "message", "status"}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug, Clone)]
pub struct GcpError {
    pub code: u16,
    pub status: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// `error.details`: typed messages such as a `google.rpc.ErrorInfo`.
    pub details: Option<serde_json::Value>,
}

impl GcpError {
    pub fn new(code: u16, status: &'static str, message: impl Into<String>) -> Self {
        GcpError {
            code,
            status,
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        GcpError::new(400, "INVALID_ARGUMENT", message)
    }

    pub fn not_found(name: &str) -> Self {
        GcpError::new(
            403,
            "PERMISSION_DENIED",
            format!("Permission denied on resource '{name}' (or it may not exist)."),
        )
    }

    pub fn unauthenticated() -> Self {
        GcpError::new(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
    }

    /// A spent read quota of `service` (`cloudresourcemanager.googleapis.com`,
    /// `iam.googleapis.com`), with the `ErrorInfo` Google adds to say which quota it was.
    pub fn throttled(seconds: u64, service: &str) -> Self {
        let mut e = GcpError::new(
            429,
            "RESOURCE_EXHAUSTED",
            format!(
                "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service '{service}' for consumer 'project_number:100000000001'."
            ),
        );
        e.retry_after = Some(seconds);
        e.details = Some(json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "service": service,
                "consumer": "projects/100000000001",
                "quota_metric": format!("{service}/read_requests"),
                "quota_limit": "ReadRequestsPerMinutePerProject",
            }
        }]));
        e
    }
}

impl IntoResponse for GcpError {
    fn into_response(self) -> Response {
        let mut body =
            json!({"error": {"code": self.code, "message": self.message, "status": self.status}});
        if let Some(details) = self.details {
            body["error"]["details"] = details;
        }
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}
