//! The one error type of the worker. Clients get a status, a stable code and
//! a message written for them; internal details only go to the log.

use cairn_core::Violation;
use cairn_core::ingest::RequestError;
use serde_json::{Value, json};
use worker::Response;

#[derive(Debug)]
pub enum AppError {
    /// A 4xx: the request is wrong, and retrying it unchanged will not help.
    Client { status: u16, code: &'static str, message: String, violations: Vec<Violation>, allow: Option<&'static str> },
    /// Something failed on our side; nothing was stored and the client may retry.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn client(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Client { status, code, message: message.into(), violations: Vec::new(), allow: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::client(400, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>, violations: Vec<Violation>) -> Self {
        AppError::Client { status: 400, code, message: message.into(), violations, allow: None }
    }

    pub fn unauthorized(code: &'static str, message: &'static str) -> Self {
        AppError::client(401, code, message)
    }

    pub fn not_found() -> Self {
        AppError::client(404, "not_found", "no such endpoint")
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        AppError::Client {
            status: 405,
            code: "method_not_allowed",
            message: ["this endpoint accepts ", allow].concat(),
            violations: Vec::new(),
            allow: Some(allow),
        }
    }

    pub fn into_response(self) -> Response {
        match self {
            AppError::Client { status, code, message, violations, allow } => {
                let mut body = json!({"success": false, "error": code, "message": message});
                if !violations.is_empty() {
                    body["violations"] = violations_json(&violations);
                }
                let mut resp = json_response(status, &body);
                if let Some(allow) = allow {
                    let _ = resp.headers_mut().set("allow", allow);
                }
                resp
            }
            AppError::Internal(detail) => {
                worker::console_error!("internal error: {detail}");
                json_response(
                    500,
                    &json!({"success": false, "error": "internal", "message": "the request could not be completed and nothing was stored; retry it"}),
                )
            }
        }
    }
}

pub fn violations_json(violations: &[Violation]) -> Value {
    violations.iter().map(|v| json!({"path": v.path, "code": v.code, "message": v.message})).collect()
}

pub fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::builder().with_status(status).fixed(body.to_string().into_bytes());
    let _ = resp.headers_mut().set("content-type", "application/json");
    resp
}

impl From<worker::Error> for AppError {
    fn from(e: worker::Error) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<RequestError> for AppError {
    fn from(e: RequestError) -> Self {
        AppError::Client { status: e.status, code: e.code, message: e.message, violations: e.violations, allow: None }
    }
}
