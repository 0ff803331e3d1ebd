//! Bulk (RFC 7644 section 3.7): many operations in one request, applied in order inside one
//! durable transaction. Each operation is atomic on its own (it applies whole or not at all),
//! later operations can name resources created earlier through `bulkId:<id>`, and
//! `failOnErrors` stops the run after that many failures.

use scimd_core::resource as res;
use scimd_core::ScimError;
use serde_json::{json, Map, Value};

use super::bulk_run::{self, Env, Op, OpResult};
use super::write::name_of;
use super::{internal, json_body, summary, Context, Reply, Request, Result};
use crate::activity::{client_name, Activity};

/// The most operations one Bulk request may carry, as advertised.
pub const MAX_OPERATIONS: usize = 1000;
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// What one operation ended in.
struct Done {
    op: Op,
    result: OpResult,
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

/// `POST /Bulk`.
pub fn bulk(ctx: &Context<'_>, req: &Request) -> Result<Reply> {
    let body = json_body(&req.body)?;
    let (fail_on_errors, ops) = parse(&body)?;
    let env = Env {
        org: ctx.org.to_string(),
        now: ctx.now().to_string(),
        unknown: ctx.unknown,
        rules: ctx.rules(),
    };
    // Parsing, normalizing and PATCH work happen here, outside the writer; the writer only
    // checks versions and writes.
    let planned = bulk_run::prepare(ctx.store, &env, ops);
    let planned = std::sync::Arc::new(planned);
    let results = {
        let planned = planned.clone();
        ctx.store
            .write(ctx.org, move |tx| {
                bulk_run::run(tx, &env, &planned, fail_on_errors)
            })
            .map_err(internal)?
    };
    let done: Vec<Done> = planned
        .iter()
        .zip(results)
        .map(|(p, result)| Done {
            op: p.op.clone(),
            result,
        })
        .collect();

    let mut results = Vec::with_capacity(done.len());
    for d in &done {
        let mut r = Map::new();
        r.insert("method".into(), json!(d.op.method.as_str()));
        if let Some(b) = &d.op.bulk_id {
            r.insert("bulkId".into(), json!(b));
        }
        let (status, summary, name, rt, id) = match &d.result {
            Ok((rt, id, out)) => {
                if d.op.method != http::Method::DELETE {
                    super::undeclared::note(ctx.org, *rt, &out.resource.attrs, &ctx.declared);
                }
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
