//! Plain HTTP against the worker, as any client of the APIs would send it.

use serde_json::Value;

use crate::{DEV_ADMIN_TOKEN, Result};

/// A status code and the body parsed as JSON (`Value::Null` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn reply(r: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Reply> {
    let mut r = r.map_err(|e| format!("request failed: {e}"))?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().map_err(|e| format!("cannot read the body: {e}"))?;
    Ok(Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) })
}

/// `GET` with the admin token.
pub fn admin_get(url: &str) -> Result<Reply> {
    reply(agent().get(url).header("authorization", &format!("Bearer {DEV_ADMIN_TOKEN}")).call())
}

/// `GET` with the given headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Reply> {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.call())
}

/// `POST` of a raw body with the given headers.
pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> Result<Reply> {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body))
}

/// `PUT` of a JSON body with the admin token.
pub fn admin_put(url: &str, body: &str) -> Result<Reply> {
    as_admin(agent().put(url), body)
}

/// `POST` of a JSON body with the admin token.
pub fn admin_post(url: &str, body: &str) -> Result<Reply> {
    as_admin(agent().post(url), body)
}

fn as_admin(req: ureq::RequestBuilder<ureq::typestate::WithBody>, body: &str) -> Result<Reply> {
    reply(
        req.header("authorization", &format!("Bearer {DEV_ADMIN_TOKEN}"))
            .header("content-type", "application/json")
            .send(body),
    )
}
