//! Profile snapshots in KV, for a fast read at the edge (`GET /v1/profile`).
//!
//! KV takes at most one write per second per key, and a busy profile changes
//! far more often. Each profile therefore has a Durable Object (named by the
//! profile id) that coalesces: told that the profile changed, it writes the
//! snapshot at once if its last write is a second old, else it sets an alarm
//! for when it is, and then writes the latest state once. D1 stays the source
//! of truth; KV holds `profile:<id>` (traits, audiences, or `mergedInto`) and
//! `id:<type>:<value>` (the profile an identifier belongs to).

use serde_json::{Value, json};
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

use crate::{runtime, store};

/// The Durable Object binding and the KV binding.
pub const BINDING: &str = "SNAPSHOTS";
pub const KV: &str = "PROFILES";
/// The least time between two writes of one profile's snapshot.
const MIN_INTERVAL_MS: i64 = 1_000;

pub fn profile_key(id: &str) -> String {
    ["profile:", id].concat()
}

pub fn identifier_key(kind: &str, value: &str) -> String {
    ["id:", kind, ":", value].concat()
}

/// Tells each profile's snapshot writer that the profile changed (in the
/// background: the caller passes this to `wait_until`).
pub async fn changed(env: Env, profiles: Vec<String>) {
    for id in profiles {
        let sent = async {
            let stub = env.durable_object(BINDING)?.id_from_name(&id)?.get_stub()?;
            stub.fetch_with_str(&["https://snapshot/changed?id=", &id].concat()).await
        };
        if let Err(e) = sent.await {
            worker::console_error!("snapshot: cannot notify the writer of {id}: {e}");
        }
    }
}

#[durable_object]
pub struct ProfileSnapshot {
    state: State,
    env: Env,
}

impl DurableObject for ProfileSnapshot {
    fn new(state: State, env: Env) -> Self {
        ProfileSnapshot { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let url = req.url()?;
        let Some(id) = url.query_pairs().find(|(k, _)| k == "id").map(|(_, v)| v.into_owned()) else {
            return Response::error("id required", 400);
        };
        let storage = self.state.storage();
        storage.put("id", &id).await?;
        let last: i64 = storage.get("last").await.ok().flatten().unwrap_or(0);
        let now = runtime::now();
        if storage.get_alarm().await?.is_some() {
            // A write is due already; it will read the latest state.
        } else if now - last >= MIN_INTERVAL_MS {
            self.write(&id).await?;
        } else {
            storage.set_alarm(last + MIN_INTERVAL_MS - now).await?;
        }
        Response::empty()
    }

    async fn alarm(&self) -> Result<Response> {
        let id: Option<String> = self.state.storage().get("id").await.ok().flatten();
        if let Some(id) = id {
            self.write(&id).await?;
        }
        Response::empty()
    }
}

impl ProfileSnapshot {
    /// Writes the profile's current snapshot and its identifier index.
    async fn write(&self, id: &str) -> Result<()> {
        let db = self.env.d1("DB")?;
        let kv = self.env.kv(KV)?;
        let live = store::profiles::live_id(&db, id).await?;
        match live.as_deref() {
            Some(live) if live == id => {
                let Some(snapshot) = store::profiles::snapshot(&db, id).await? else { return Ok(()) };
                for i in snapshot["identifiers"].as_array().into_iter().flatten() {
                    let key =
                        identifier_key(i["type"].as_str().unwrap_or_default(), i["value"].as_str().unwrap_or_default());
                    if kv.get(&key).text().await?.as_deref() != Some(id) {
                        kv.put(&key, id)?.execute().await?;
                    }
                }
                let public = json!({"id": id, "traits": snapshot["traits"], "audiences": snapshot["audiences"], "updatedAt": snapshot["updatedAt"]});
                kv.put(&profile_key(id), public.to_string())?.execute().await?;
            }
            Some(survivor) => {
                kv.put(&profile_key(id), json!({"id": id, "mergedInto": survivor}).to_string())?.execute().await?;
            }
            None => kv.delete(&profile_key(id)).await?,
        }
        self.state.storage().put("last", runtime::now()).await
    }
}

/// The snapshot of the profile an identifier belongs to, following one merge.
pub async fn read(env: &Env, kind: &str, value: &str) -> Result<Option<Value>> {
    let kv = env.kv(KV)?;
    let Some(id) = kv.get(&identifier_key(kind, value)).text().await? else { return Ok(None) };
    let mut snapshot: Option<Value> = kv.get(&profile_key(&id)).json().await?;
    if let Some(next) = snapshot.as_ref().and_then(|s| s["mergedInto"].as_str()).map(str::to_owned) {
        snapshot = kv.get(&profile_key(&next)).json().await?;
    }
    Ok(snapshot)
}
