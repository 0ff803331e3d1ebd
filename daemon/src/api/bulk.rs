//! Bulk (RFC 7644 section 3.7): many operations in one request, applied in order inside one
//! durable transaction. Each operation is atomic on its own (it applies whole or not at all),
//! later operations can name resources created earlier through `bulkId:<id>`, and
//! `failOnErrors` stops the run after that many failures.

use std::collections::HashMap;

use scimd_core::patch::parse_patch;
use scimd_core::resource::{self as res, Limits, UserNames};
use scimd_core::{ResourceType, ScimError};
use serde_json::{json, Map, Value};

use super::write::{name_of, patch_change, put_change};
use super::{internal, json_body, summary, Context, Reply, Request, Result};
use crate::activity::{client_name, Activity};
use crate::store::{Outcome, StoreError, Tx, Unknown};

/// The most operations one Bulk request may carry, as advertised.
pub const MAX_OPERATIONS: usize = 1000;
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// One requested operation, as parsed before the transaction.
#[derive(Clone)]
struct Op {
    method: http::Method,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
}

/// What one operation ended in.
struct Done {
    op: Op,
    result: std::result::Result<(ResourceType, String, Outcome), ScimError>,
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse(body: &Value) -> Result<(Option<usize>, Vec<Op>)> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A BulkRequest must be a JSON object."))?;
    if let Some(schemas) = field(obj, "schemas").and_then(Value::as_array) {
        if !schemas.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST))
        }) {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {BULK_REQUEST}"
            )));
        }
    }
    let fail_on_errors = match field(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(ScimError::invalid_value(
                    "failOnErrors must be an integer of 1 or more",
                ))
            }
        },
    };
    let ops = field(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("A BulkRequest needs an Operations array."))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::PayloadTooLarge(format!(
            "A Bulk request may carry at most {MAX_OPERATIONS} operations; this one has {}.",
            ops.len()
        )));
    }
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let o = op.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(format!("Operations[{i}] must be a JSON object."))
        })?;
        let text = |k: &str| field(o, k).and_then(Value::as_str).map(str::to_string);
        let method = match text("method").map(|m| m.to_ascii_uppercase()).as_deref() {
            Some("POST") => http::Method::POST,
            Some("PUT") => http::Method::PUT,
            Some("PATCH") => http::Method::PATCH,
            Some("DELETE") => http::Method::DELETE,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "Operations[{i}].method must be POST, PUT, PATCH or DELETE, got {other:?}"
                )))
            }
        };
        let path = text("path").ok_or_else(|| {
            ScimError::invalid_syntax(format!("Operations[{i}] needs a path such as /Users."))
        })?;
        out.push(Op {
            method,
            path,
            bulk_id: text("bulkId"),
            version: text("version"),
            data: field(o, "data").cloned(),
        });
    }
    Ok((fail_on_errors, out))
}

/// Replaces every string `bulkId:<id>` inside `v` with the id created for it.
fn resolve(v: &mut Value, ids: &HashMap<String, String>) -> std::result::Result<(), ScimError> {
    match v {
        Value::String(s) => {
            if let Some(reference) = s.strip_prefix("bulkId:") {
                let id = ids.get(reference).ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "bulkId:{reference} does not name an earlier successful POST of this request"
                    ))
                })?;
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| resolve(i, ids))?,
        Value::Object(map) => map.values_mut().try_for_each(|i| resolve(i, ids))?,
        _ => {}
    }
    Ok(())
}

/// What the operations run with inside the transaction; owned, as the writer thread runs it.
struct Env {
    org: String,
    now: String,
    limits: Limits,
    unknown: Unknown,
    usernames: UserNames,
}

fn run_one(
    tx: &mut Tx<'_>,
    env: &Env,
    op: &Op,
    ids: &HashMap<String, String>,
) -> std::result::Result<(ResourceType, String, Outcome), StoreError> {
    // The path may name an earlier POST too: `/Users/bulkId:ann`.
    let mut segments: Vec<Value> = op
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect();
    segments.iter_mut().try_for_each(|s| resolve(s, ids))?;
    let segments: Vec<&str> = segments.iter().filter_map(Value::as_str).collect();
    let path = format!("/{}", segments.join("/"));
    let rt = match segments.first().map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("users") => ResourceType::User,
        Some("groups") => ResourceType::Group,
        _ => {
            return Err(ScimError::NotFound(format!(
                "Bulk operations address /Users or /Groups, not {path}"
            ))
            .into())
        }
    };
    let mut data = op.data.clone().unwrap_or(Value::Null);
    resolve(&mut data, ids)?;
    let if_match = op.version.as_deref();
    let Env {
        org,
        now,
        limits,
        unknown,
        usernames,
    } = env;
    let limits_v = *limits;
    if let [_, id] = segments.as_slice() {
        res::check_id("id", id, &limits_v)?;
    }
    match (&op.method, segments.as_slice()) {
        (&http::Method::POST, [_]) => {
            let n = res::normalize(rt, &data, &limits_v)?;
            let id = uuid::Uuid::now_v7().to_string();
            let out = tx.create(org, rt, &id, now, n.attrs, n.members.unwrap_or_default(), *unknown)?;
            Ok((rt, id, out))
        }
        (&http::Method::PUT, [_, id]) => {
            let out = tx.modify(org, rt, id, if_match, now, *unknown, |cur| {
                put_change(rt, cur, &data, limits_v, *usernames)
            })?;
            Ok((rt, id.to_string(), out))
        }
        (&http::Method::PATCH, [_, id]) => {
            let ops = parse_patch(&data)?;
            let out = tx.modify(org, rt, id, if_match, now, *unknown, |cur| {
                patch_change(rt, cur, &ops, limits_v, *usernames)
            })?;
            Ok((rt, id.to_string(), out))
        }
        (&http::Method::DELETE, [_, id]) => {
            let out = tx.delete(org, rt, id, if_match, now)?;
            Ok((rt, id.to_string(), out))
        }
        _ => Err(ScimError::invalid_syntax(format!(
            "{} {path}: POST goes to /Users or /Groups, PUT, PATCH and DELETE to /Users/<id> or /Groups/<id>",
            op.method
        ))
        .into()),
    }
}

/// `POST /Bulk`.
pub fn bulk(ctx: &Context<'_>, req: &Request) -> Result<Reply> {
    let body = json_body(&req.body)?;
    let (fail_on_errors, ops) = parse(&body)?;
    let env = Env {
        org: ctx.org.to_string(),
        now: ctx.now().to_string(),
        limits: ctx.limits,
        unknown: ctx.unknown,
        usernames: ctx.usernames,
    };
    let done = ctx
        .store
        .write(ctx.org, move |tx| {
            let mut ids: HashMap<String, String> = HashMap::new();
            let mut errors = 0usize;
            let mut done = Vec::with_capacity(ops.len());
            for op in ops.iter().cloned() {
                if fail_on_errors.is_some_and(|max| errors >= max) {
                    break;
                }
                let result = match run_one(tx, &env, &op, &ids) {
                    Ok(ok) => {
                        if let (true, Some(b)) = (op.method == http::Method::POST, &op.bulk_id) {
                            ids.insert(b.clone(), ok.1.clone());
                        }
                        Ok(ok)
                    }
                    Err(StoreError::Scim(e)) => {
                        errors += 1;
                        Err(e)
                    }
                    // A storage fault: abandon the whole request, nothing is committed.
                    Err(other) => return Err(other),
                };
                done.push(Done { op, result });
            }
            Ok(done)
        })
        .map_err(internal)?;

    let mut results = Vec::with_capacity(done.len());
    for d in &done {
        let mut r = Map::new();
        r.insert("method".into(), json!(d.op.method.as_str()));
        if let Some(b) = &d.op.bulk_id {
            r.insert("bulkId".into(), json!(b));
        }
        let (status, summary, name, rt, id) = match &d.result {
            Ok((rt, id, out)) => {
                let (status, summary) = match d.op.method {
                    http::Method::POST => (201, summary::created(*rt, out)),
                    http::Method::DELETE => (204, "deleted".to_string()),
                    _ => (200, summary::changed(*rt, out)),
                };
                r.insert(
                    "location".into(),
                    json!(format!("{}/{}/{id}", ctx.base, rt.endpoint())),
                );
                if status != 204 {
                    r.insert(
                        "version".into(),
                        json!(res::etag(out.resource.meta.version)),
                    );
                }
                (
                    status,
                    summary,
                    name_of(*rt, &out.resource.attrs),
                    rt.name(),
                    Some(id.clone()),
                )
            }
            Err(e) => {
                r.insert("response".into(), e.to_json());
                (e.status(), format!("failed: {e}"), None, "Bulk", None)
            }
        };
        r.insert("status".into(), json!(status.to_string()));
        results.push(Value::Object(r));
        ctx.bus.publish(Activity {
            seq: 0,
            time: ctx.now().to_string(),
            org: ctx.org.to_string(),
            client: client_name(req.user_agent.as_deref()),
            method: format!("BULK {}", d.op.method),
            resource: rt.to_string(),
            id,
            name,
            summary,
            status,
            scim_type: d
                .result
                .as_ref()
                .err()
                .and_then(|e| e.scim_type())
                .map(|t| t.as_str().to_string()),
            latency_us: ctx.started.elapsed().as_micros() as u64,
        });
    }
    Ok(Reply {
        status: 200,
        body: Some(json!({"schemas": [BULK_RESPONSE], "Operations": results})),
        etag: None,
        location: None,
        allow: None,
    })
}
