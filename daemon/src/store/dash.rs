//! Read-only queries for the dashboard: org counts, teams with member counts, a team's
//! members, users by userName prefix. Each reads one snapshot over the indexes and counters
//! the write path already keeps, so no query scans more than what it returns.

use scimd_core::wire::{MemberSummary, TeamSummary, UserSummary};
use scimd_core::ResourceType;
use serde_json::{Map, Value};

use super::error::Result;
use super::model::{counter_users, is_active, member_counter, Lookup, ACTIVE};
use super::read::links;
use super::Store;

/// An org's counts, read from the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgStats {
    pub users: u64,
    pub active_users: u64,
    pub teams: u64,
}

/// The name a person goes by: `displayName`, else `name.formatted`, else given and family name.
fn display_name(attrs: &Map<String, Value>) -> Option<String> {
    let non_empty = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
    };
    if let Some(d) = non_empty(attrs.get("displayName")) {
        return Some(d);
    }
    let name = attrs.get("name").and_then(Value::as_object)?;
    if let Some(f) = non_empty(name.get("formatted")) {
        return Some(f);
    }
    let parts: Vec<String> = ["givenName", "familyName"]
        .iter()
        .filter_map(|k| non_empty(name.get(*k)))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn str_attr(attrs: &Map<String, Value>, key: &str) -> String {
    attrs
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Store {
    /// Users, active users and teams of `org`.
    pub fn org_stats(&self, org: &str) -> Result<OrgStats> {
        self.view(|v| {
            Ok(OrgStats {
                users: v.counter(org, counter_users(ResourceType::User))?,
                active_users: v.counter(org, ACTIVE)?,
                teams: v.counter(org, counter_users(ResourceType::Group))?,
            })
        })
    }

    /// Every team of `org` with its member count, by name (case-insensitively).
    pub fn teams(&self, org: &str) -> Result<Vec<TeamSummary>> {
        self.view(|v| {
            let mut out = Vec::new();
            v.scan(org, ResourceType::Group, None, 0, &mut |id, rec| {
                out.push(TeamSummary {
                    id: id.to_string(),
                    name: str_attr(&rec.attrs, "displayName"),
                    members: 0,
                });
                Ok(true)
            })?;
            for team in &mut out {
                team.members = v.counter(org, &member_counter(&team.id))?;
            }
            out.sort_by_cached_key(|t| (t.name.to_lowercase(), t.id.clone()));
            Ok(out)
        })
    }

    /// The members of team `team` (its id, or else its displayName) with their active state,
    /// by userName. None when the org has no such team.
    pub fn team_members(&self, org: &str, team: &str) -> Result<Option<Vec<MemberSummary>>> {
        self.view(|v| {
            let gid = if v.record(org, ResourceType::Group, team)?.is_some() {
                team.to_string()
            } else {
                let found = v.lookup(
                    org,
                    ResourceType::Group,
                    &Lookup::DisplayName(team.to_string()),
                )?;
                match found.into_iter().next() {
                    Some(id) => id,
                    None => return Ok(None),
                }
            };
            let mut out = Vec::new();
            for link in v.members(org, &gid)? {
                let member = match v.record(org, ResourceType::User, &link.id)? {
                    Some(rec) => MemberSummary {
                        id: link.id,
                        user_name: str_attr(&rec.attrs, "userName"),
                        display_name: display_name(&rec.attrs),
                        active: is_active(&rec.attrs),
                    },
                    // Deleting a user removes its memberships in the same transaction, so
                    // this is only reachable with damaged data; show what the row knows.
                    None => MemberSummary {
                        id: link.id,
                        user_name: link.display,
                        display_name: None,
                        active: false,
                    },
                };
                out.push(member);
            }
            out.sort_by_cached_key(|m| (m.user_name.to_lowercase(), m.id.clone()));
            Ok(Some(out))
        })
    }

    /// At most `limit` users of `org` whose userName starts with `prefix` (case-insensitively),
    /// by userName, each with the names of its teams.
    pub fn users_by_prefix(
        &self,
        org: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<UserSummary>> {
        let prefix = prefix.to_lowercase();
        self.view(|v| {
            let mut out = Vec::new();
            for uid in v.users_by_name_prefix(org, &prefix, limit)? {
                let Some(rec) = v.record(org, ResourceType::User, &uid)? else {
                    continue;
                };
                let mut teams: Vec<String> = links(v, org, ResourceType::User, &uid)?
                    .into_iter()
                    .map(|l| l.display)
                    .collect();
                teams.sort_by_key(|t| t.to_lowercase());
                out.push(UserSummary {
                    id: uid,
                    user_name: str_attr(&rec.attrs, "userName"),
                    display_name: display_name(&rec.attrs),
                    active: is_active(&rec.attrs),
                    teams,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use scimd_core::patch::MemberOp;
    use scimd_core::ResourceType;
    use serde_json::json;

    use super::*;
    use crate::store::{Change, Unknown};
    use crate::store::{Stamp, Target};

    const NOW: &str = "2025-01-01T00:00:00Z";

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn user(store: &Store, org: &str, id: &str, v: Value) {
        store
            .create(
                Target::new(org, ResourceType::User, id),
                Stamp {
                    now: NOW,
                    unknown: Unknown::Skip,
                },
                attrs(v),
                vec![],
            )
            .unwrap();
    }

    fn team(store: &Store, org: &str, id: &str, name: &str, members: &[&str]) {
        store
            .create(
                Target::new(org, ResourceType::Group, id),
                Stamp {
                    now: NOW,
                    unknown: Unknown::Skip,
                },
                attrs(json!({ "displayName": name })),
                members.iter().map(|m| m.to_string()).collect(),
            )
            .unwrap();
    }

    /// acme: ann (active), bob (deactivated), Ann-Marie (no displayName); teams Eng {ann,
    /// bob} and design {ann}. globex: one user and one team, to check the org scoping.
    fn sample() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("scimd.redb")).unwrap();
        user(
            &store,
            "acme",
            "u1",
            json!({"userName": "ann@acme.com", "displayName": "Ann Lee"}),
        );
        user(
            &store,
            "acme",
            "u2",
            json!({"userName": "bob@acme.com", "name": {"givenName": "Bob", "familyName": "Ray"}}),
        );
        user(
            &store,
            "acme",
            "u3",
            json!({"userName": "Ann-Marie@acme.com"}),
        );
        user(
            &store,
            "globex",
            "g1",
            json!({"userName": "ann@globex.com"}),
        );
        team(&store, "acme", "t1", "Eng", &["u1", "u2", "nope"]);
        team(&store, "acme", "t2", "design", &["u1"]);
        team(&store, "globex", "t9", "Ops", &["g1"]);
        store
            .modify(
                Target::new("acme", ResourceType::User, "u2"),
                None,
                Stamp {
                    now: NOW,
                    unknown: Unknown::Skip,
                },
                |r| {
                    let mut a = r.attrs.clone();
                    a.insert("active".into(), json!(false));
                    Ok(Change {
                        attrs: a,
                        members: Vec::<MemberOp>::new(),
                    })
                },
            )
            .unwrap();
        (dir, store)
    }

    #[test]
    fn org_stats_come_from_the_counters() {
        let (_dir, store) = sample();
        assert_eq!(
            store.org_stats("acme").unwrap(),
            OrgStats {
                users: 3,
                active_users: 2,
                teams: 2
            }
        );
        assert_eq!(store.org_stats("globex").unwrap().users, 1);
        assert_eq!(store.org_stats("nobody").unwrap(), OrgStats::default());
    }

    #[test]
    fn teams_are_sorted_by_name_with_member_counts() {
        let (_dir, store) = sample();
        let teams = store.teams("acme").unwrap();
        let rows: Vec<(&str, &str, u64)> = teams
            .iter()
            .map(|t| (t.id.as_str(), t.name.as_str(), t.members))
            .collect();
        assert_eq!(rows, vec![("t2", "design", 1), ("t1", "Eng", 2)]);
        assert_eq!(store.teams("globex").unwrap().len(), 1);
        assert!(store.teams("nobody").unwrap().is_empty());
    }

    #[test]
    fn team_members_show_names_and_active_state() {
        let (_dir, store) = sample();
        let members = store.team_members("acme", "t1").unwrap().unwrap();
        assert_eq!(
            members,
            vec![
                MemberSummary {
                    id: "u1".into(),
                    user_name: "ann@acme.com".into(),
                    display_name: Some("Ann Lee".into()),
                    active: true,
                },
                MemberSummary {
                    id: "u2".into(),
                    user_name: "bob@acme.com".into(),
                    display_name: Some("Bob Ray".into()),
                    active: false,
                },
            ]
        );
        // By name too, case-insensitively; another org's team is not found.
        assert_eq!(store.team_members("acme", "ENG").unwrap(), Some(members));
        assert_eq!(store.team_members("acme", "t9").unwrap(), None);
    }

    #[test]
    fn users_by_prefix_is_case_insensitive_limited_and_org_scoped() {
        let (_dir, store) = sample();
        let found = store.users_by_prefix("acme", "ANN", 10).unwrap();
        let names: Vec<&str> = found.iter().map(|u| u.user_name.as_str()).collect();
        assert_eq!(names, vec!["Ann-Marie@acme.com", "ann@acme.com"]);
        assert_eq!(found[1].teams, vec!["design", "Eng"]);
        assert!(found[0].teams.is_empty());
        assert_eq!(store.users_by_prefix("acme", "a", 1).unwrap().len(), 1);
        let bob = &store.users_by_prefix("acme", "bob", 10).unwrap()[0];
        assert!(!bob.active);
        assert_eq!(bob.teams, vec!["Eng"]);
        assert_eq!(store.users_by_prefix("acme", "", 10).unwrap().len(), 3);
        assert!(store.users_by_prefix("acme", "zed", 10).unwrap().is_empty());
    }
}
