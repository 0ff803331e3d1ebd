//! Properties of the control-socket messages: every message survives a serde round trip as one
//! JSON line, and no line, however malformed, makes decoding panic.

mod support;

use proptest::prelude::*;
use scimd_core::wire::{
    ActivityRecord, ClientMsg, DaemonInfo, MemberSummary, OrgSummary, ServerMsg, TeamSummary,
    UserSummary,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use support::{awkward_string, fuzz};

fn text() -> BoxedStrategy<String> {
    awkward_string()
}

fn activity() -> impl Strategy<Value = ActivityRecord> {
    (
        (any::<u64>(), text(), text(), text(), text(), text()),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            text(),
            any::<u16>(),
            prop::option::of(text()),
            any::<u64>(),
        ),
    )
        .prop_map(
            |((seq, time, org, client, method, resource), (id, name, summary, status, st, l))| {
                ActivityRecord {
                    seq,
                    time,
                    org,
                    client,
                    method,
                    resource,
                    id,
                    name,
                    summary,
                    status,
                    scim_type: st,
                    latency_us: l,
                }
            },
        )
}

fn org() -> impl Strategy<Value = OrgSummary> {
    (
        text(),
        text(),
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(name, display_name, enabled, users, active_users, teams)| OrgSummary {
                name,
                display_name,
                enabled,
                users,
                active_users,
                teams,
                webhooks: Vec::new(),
            },
        )
}

fn team() -> impl Strategy<Value = TeamSummary> {
    (text(), text(), any::<u64>()).prop_map(|(id, name, members)| TeamSummary { id, name, members })
}

fn member() -> impl Strategy<Value = MemberSummary> {
    (text(), text(), prop::option::of(text()), any::<bool>()).prop_map(
        |(id, user_name, display_name, active)| MemberSummary {
            id,
            user_name,
            display_name,
            active,
        },
    )
}

fn user() -> impl Strategy<Value = UserSummary> {
    (
        text(),
        text(),
        prop::option::of(text()),
        any::<bool>(),
        prop::collection::vec(text(), 0..4),
    )
        .prop_map(|(id, user_name, display_name, active, teams)| UserSummary {
            id,
            user_name,
            display_name,
            active,
            teams,
        })
}

fn daemon() -> impl Strategy<Value = DaemonInfo> {
    (text(), text(), text(), any::<u64>()).prop_map(|(version, listen, started, uptime_secs)| {
        DaemonInfo {
            version,
            listen,
            started,
            uptime_secs,
        }
    })
}

fn client_msg() -> BoxedStrategy<ClientMsg> {
    prop_oneof![
        any::<u32>().prop_map(|version| ClientMsg::Hello { version }),
        Just(ClientMsg::Snapshot),
        text().prop_map(|org| ClientMsg::Teams { org }),
        (text(), text()).prop_map(|(org, team)| ClientMsg::TeamMembers { org, team }),
        (text(), text(), any::<usize>()).prop_map(|(org, prefix, limit)| ClientMsg::Users {
            org,
            prefix,
            limit
        }),
        any::<usize>().prop_map(|limit| ClientMsg::Recent { limit }),
        Just(ClientMsg::Subscribe),
    ]
    .boxed()
}

fn list<S: Strategy>(s: S) -> impl Strategy<Value = Vec<S::Value>> {
    prop::collection::vec(s, 0..3)
}

fn server_msg() -> BoxedStrategy<ServerMsg> {
    prop_oneof![
        (any::<u32>(), daemon()).prop_map(|(version, daemon)| ServerMsg::Hello { version, daemon }),
        list(org()).prop_map(|orgs| ServerMsg::Snapshot { orgs }),
        (text(), list(team())).prop_map(|(org, teams)| ServerMsg::Teams { org, teams }),
        (text(), text(), list(member())).prop_map(|(org, team, members)| ServerMsg::TeamMembers {
            org,
            team,
            members
        }),
        (text(), list(user())).prop_map(|(org, users)| ServerMsg::Users { org, users }),
        list(activity()).prop_map(|records| ServerMsg::Recent { records }),
        activity().prop_map(|record| ServerMsg::Activity { record }),
        (any::<u64>(), any::<u64>(), any::<u64>(), list(org())).prop_map(
            |(requests, errors, uptime_secs, orgs)| ServerMsg::Counters {
                requests,
                errors,
                uptime_secs,
                orgs,
                health: Vec::new(),
            }
        ),
        any::<u64>().prop_map(|missed| ServerMsg::Lagged { missed }),
        text().prop_map(|message| ServerMsg::Error { message }),
    ]
    .boxed()
}

/// One line on the socket: no raw newline, and decoded back to the same message.
fn round_trips<T>(msg: T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let line = serde_json::to_string(&msg).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(!line.contains('\n'), "a message spans lines: {}", line);
    let back: T = serde_json::from_str(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(back, msg);
    Ok(())
}

#[test]
fn fuzz_messages_round_trip() {
    fuzz(
        "fuzz_messages_round_trip",
        (client_msg(), server_msg()),
        |(c, s)| {
            round_trips(c)?;
            round_trips(s)
        },
    );
}

/// Decodes `line` as every message the control socket reads, ignoring the answers.
fn decode_all(line: &str) {
    let _ = serde_json::from_str::<ClientMsg>(line);
    let _ = serde_json::from_str::<ServerMsg>(line);
    let _ = serde_json::from_str::<ActivityRecord>(line);
    let _ = serde_json::from_str::<OrgSummary>(line);
    let _ = serde_json::from_str::<UserSummary>(line);
}

/// A valid line, then damaged: cut short, a byte range replaced, or a value swapped for
/// another JSON token, the way a half-written or hostile peer sends it.
fn damaged_line() -> BoxedStrategy<String> {
    let line = prop_oneof![
        client_msg().prop_map(|m| serde_json::to_string(&m).unwrap_or_default()),
        server_msg().prop_map(|m| serde_json::to_string(&m).unwrap_or_default()),
    ];
    let patch = prop::sample::select(vec![
        "",
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "-1",
        "1e400",
        "18446744073709551616",
        "\"type\":\"hello\"",
        "\"type\":",
        "\\u0000",
        "\\uD800",
        "\u{0}",
        "é",
        "\n",
    ]);
    (line, any::<prop::sample::Index>(), 0usize..6, patch)
        .prop_map(|(line, at, len, patch)| {
            let mut chars: Vec<char> = line.chars().collect();
            let start = at.index(chars.len() + 1);
            let end = (start + len).min(chars.len());
            chars.splice(start..end, patch.chars());
            chars.into_iter().collect()
        })
        .boxed()
}

#[test]
fn fuzz_decoding_any_line_never_panics() {
    let lines = prop_oneof![
        2 => damaged_line(),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => support::json_value(3).prop_map(|v| v.to_string()),
    ];
    fuzz("fuzz_decoding_any_line_never_panics", lines, |line| {
        decode_all(&line);
        Ok(())
    });
}
