//! Bulk (RFC 7644 section 3.7): many operations in one request, applied in order inside one
//! durable transaction. Each operation is atomic on its own (it applies whole or not at all),
//! later operations can name resources created earlier through `bulkId:<id>`, and
//! `failOnErrors` stops the run after that many failures.

use scimd_core::resource as res;
use scimd_core::ScimError;
use serde_json::{json, Map, Value};

use super::bulk_run::{self, Env, Op, OpResult};
use std::time::Instant;

use super::write::{name_of, record};
use super::{internal, json_body, summary, Context, Reply, Request, Result};
use crate::activity::{Activity, Bus};

/// The most operations one Bulk request may carry, as advertised.
pub const MAX_OPERATIONS: usize = 1000;
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The status of a successful operation.
fn status_of(op: &Op) -> u16 {
    match op.method {
        http::Method::POST => 201,
        http::Method::DELETE => 204,
        _ => 200,
    }
}

/// The activity record of one operation, from the request's `base` record.
fn op_record(base: &Activity, op: &Op, result: &OpResult, started: Instant) -> Activity {
    let (status, summary, name, resource, id, scim_type) = match result {
        Ok((rt, id, out)) => {
            let summary = match op.method {
                http::Method::POST => summary::created(*rt, out),
                http::Method::DELETE => "deleted".to_string(),
                _ => summary::changed(*rt, out),
            };
            let name = name_of(*rt, &out.resource.attrs);
            (
                status_of(op),
                summary,
                name,
                rt.name(),
                Some(id.clone()),
                None,
            )
        }
        Err(e) => (
            e.status(),
            format!("failed: {e}"),
            None,
            "Bulk",
            None,
            e.scim_type().map(|t| t.as_str().to_string()),
        ),
    };
    Bus::bounded(Activity {
        method: format!("BULK {}", op.method),
        resource: resource.to_string(),
        id,
        name,
        summary,
        status,
        scim_type,
        latency_us: started.elapsed().as_micros() as u64,
        ..base.clone()
    })
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
    let base = record(ctx, req, "Bulk");
    let started = ctx.started;
    // Each operation's activity record is written in the request's own transaction.
    let (results, notes) = {
        let planned = planned.clone();
        ctx.store
            .write(ctx.org, move |tx| {
                let results = bulk_run::run(tx, &env, &planned, fail_on_errors)?;
                let mut notes = Vec::with_capacity(results.len());
                for (p, result) in planned.iter().zip(&results) {
                    let mut rec = op_record(&base, &p.op, result, started);
                    tx.note(&mut rec)?;
                    notes.push(rec);
                }
                Ok((results, notes))
            })
            .map_err(internal)?
    };
    let mut out = Vec::with_capacity(results.len());
    for (p, result) in planned.iter().zip(&results) {
        let mut r = Map::new();
        r.insert("method".into(), json!(p.op.method.as_str()));
        if let Some(b) = &p.op.bulk_id {
            r.insert("bulkId".into(), json!(b));
        }
        let status = match result {
            Ok((rt, id, o)) => {
                if p.op.method != http::Method::DELETE {
                    super::undeclared::note(ctx.org, *rt, &o.resource.attrs, &ctx.declared);
                }
                r.insert(
                    "location".into(),
                    json!(format!("{}/{}/{id}", ctx.base, rt.endpoint())),
                );
                let status = status_of(&p.op);
                if status != 204 {
                    r.insert("version".into(), json!(res::etag(o.resource.meta.version)));
                }
                status
            }
            Err(e) => {
                r.insert("response".into(), e.to_json());
                e.status()
            }
        };
        r.insert("status".into(), json!(status.to_string()));
        out.push(Value::Object(r));
    }
    for rec in notes {
        ctx.bus.publish_stored(rec);
    }
    let results = out;
    Ok(Reply {
        status: 200,
        body: Some(json!({"schemas": [BULK_RESPONSE], "Operations": results})),
        etag: None,
        location: None,
        allow: None,
    })
}
