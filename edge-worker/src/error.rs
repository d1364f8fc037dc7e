//! The one error type of the worker. Clients get a stable code and a message
//! written for them; internal details only go to the log.

use cairn_core::Violation;
use serde_json::{Value, json};
use worker::Response;

#[derive(Debug)]
pub enum AppError {
    /// 400: the request is malformed or its messages violate the Spec.
    BadRequest {
        code: &'static str,
        message: String,
        violations: Vec<Violation>,
    },
    /// 401: missing or unknown credentials.
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    NotFound,
    MethodNotAllowed {
        allowed: &'static str,
    },
    /// Something failed on our side; the client may retry.
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest { code, message: message.into(), violations: Vec::new() }
    }

    pub fn into_response(self) -> Response {
        let (status, body) = match &self {
            AppError::BadRequest { code, message, violations } => {
                let vs: Vec<Value> =
                    violations.iter().map(|v| json!({"path": v.path, "code": v.code, "message": v.message})).collect();
                let mut body = error_body(code, message);
                if !vs.is_empty() {
                    body["violations"] = Value::Array(vs);
                }
                (400, body)
            }
            AppError::Unauthorized { code, message } => (401, error_body(code, message)),
            AppError::NotFound => (404, error_body("not_found", "no such endpoint")),
            AppError::MethodNotAllowed { allowed } => {
                (405, error_body("method_not_allowed", &["this endpoint accepts ", allowed].concat()))
            }
            AppError::Internal(detail) => {
                worker::console_error!("internal error: {detail}");
                (500, error_body("internal", "the request could not be completed; retry it"))
            }
        };
        let mut resp = json_response(status, &body);
        if let AppError::MethodNotAllowed { allowed } = self {
            let _ = resp.headers_mut().set("allow", allowed);
        }
        resp
    }
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"success": false, "error": code, "message": message})
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
