//! Read-only queries for the dashboard: org counts, teams with member counts, a team's
//! members, users by userName prefix. Each is one read transaction over the indexes and
//! counters the write path already keeps, so no query scans more than what it returns.

use scimd_core::wire::{MemberSummary, TeamSummary, UserSummary};
use serde_json::{Map, Value};

use super::schema::{COUNTS, GROUPS, GROUP_BY_NAME, MEMBERS, MEMBER_OF, USERS, USER_BY_NAME};
use super::{decode, is_active, member_counter, Result, Store, ACTIVE};

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
        let txn = self.db()?.begin_read()?;
        let counts = txn.open_table(COUNTS)?;
        let get = |name: &str| -> Result<u64> {
            Ok(counts.get((org, name))?.map(|v| v.value()).unwrap_or(0))
        };
        Ok(OrgStats {
            users: get("users")?,
            active_users: get(ACTIVE)?,
            teams: get("groups")?,
        })
    }

    /// Every team of `org` with its member count, by name (case-insensitively).
    pub fn teams(&self, org: &str) -> Result<Vec<TeamSummary>> {
        let txn = self.db()?.begin_read()?;
        let groups = txn.open_table(GROUPS)?;
        let counts = txn.open_table(COUNTS)?;
        let mut out = Vec::new();
        for entry in groups.range((org, "")..)? {
            let (k, v) = entry?;
            let (o, id) = k.value();
            if o != org {
                break;
            }
            let rec = decode("groups", id, v.value())?;
            let members = counts
                .get((org, member_counter(id).as_str()))?
                .map(|v| v.value())
                .unwrap_or(0);
            out.push(TeamSummary {
                id: id.to_string(),
                name: str_attr(&rec.attrs, "displayName"),
                members,
            });
        }
        out.sort_by_cached_key(|t| (t.name.to_lowercase(), t.id.clone()));
        Ok(out)
    }

    /// The members of team `team` (its id, or else its displayName) with their active state,
    /// by userName. None when the org has no such team.
    pub fn team_members(&self, org: &str, team: &str) -> Result<Option<Vec<MemberSummary>>> {
        let txn = self.db()?.begin_read()?;
        let groups = txn.open_table(GROUPS)?;
        let gid = if groups.get((org, team))?.is_some() {
            team.to_string()
        } else {
            let by_name = txn.open_table(GROUP_BY_NAME)?;
            match by_name.get((org, team.to_lowercase().as_str()))? {
                Some(id) => id.value().to_string(),
                None => return Ok(None),
            }
        };
        let members = txn.open_table(MEMBERS)?;
        let users = txn.open_table(USERS)?;
        let mut out = Vec::new();
        for entry in members.range((org, gid.as_str(), "")..)? {
            let (k, display) = entry?;
            let (o, g, uid) = k.value();
            if o != org || g != gid {
                break;
            }
            let member = match users.get((org, uid))? {
                Some(v) => {
                    let rec = decode("users", uid, v.value())?;
                    MemberSummary {
                        id: uid.to_string(),
                        user_name: str_attr(&rec.attrs, "userName"),
                        display_name: display_name(&rec.attrs),
                        active: is_active(&rec.attrs),
                    }
                }
                // Deleting a user removes its memberships in the same transaction, so this
                // is only reachable with a damaged file; show what the row knows.
                None => MemberSummary {
                    id: uid.to_string(),
                    user_name: display.value().to_string(),
                    display_name: None,
                    active: false,
                },
            };
            out.push(member);
        }
        out.sort_by_cached_key(|m| (m.user_name.to_lowercase(), m.id.clone()));
        Ok(Some(out))
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
        let txn = self.db()?.begin_read()?;
        let by_name = txn.open_table(USER_BY_NAME)?;
        let users = txn.open_table(USERS)?;
        let member_of = txn.open_table(MEMBER_OF)?;
        let groups = txn.open_table(GROUPS)?;
        let mut out = Vec::new();
        // The index is keyed by the lowercased userName, so the matches are one contiguous
        // range starting at the prefix.
        for entry in by_name.range((org, prefix.as_str())..)? {
            if out.len() >= limit {
                break;
            }
            let (k, id) = entry?;
            let (o, name) = k.value();
            if o != org || !name.starts_with(prefix.as_str()) {
                break;
            }
            let uid = id.value();
            let Some(v) = users.get((org, uid))? else {
                continue;
            };
            let rec = decode("users", uid, v.value())?;
            let mut teams = Vec::new();
            for entry in member_of.range((org, uid, "")..)? {
                let (k, _) = entry?;
                let (o, u, gid) = k.value();
                if o != org || u != uid {
                    break;
                }
                if let Some(g) = groups.get((org, gid))? {
                    teams.push(str_attr(
                        &decode("groups", gid, g.value())?.attrs,
                        "displayName",
                    ));
                }
            }
            teams.sort_by_key(|t| t.to_lowercase());
            out.push(UserSummary {
                id: uid.to_string(),
                user_name: str_attr(&rec.attrs, "userName"),
                display_name: display_name(&rec.attrs),
                active: is_active(&rec.attrs),
                teams,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use scimd_core::patch::MemberOp;
    use scimd_core::ResourceType;
    use serde_json::json;

    use super::*;
    use crate::store::{Change, Unknown};

    const NOW: &str = "2025-01-01T00:00:00Z";

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn user(store: &Store, org: &str, id: &str, v: Value) {
        store
            .create(
                org,
                ResourceType::User,
                id,
                NOW,
                attrs(v),
                vec![],
                Unknown::Skip,
            )
            .unwrap();
    }

    fn team(store: &Store, org: &str, id: &str, name: &str, members: &[&str]) {
        store
            .create(
                org,
                ResourceType::Group,
                id,
                NOW,
                attrs(json!({ "displayName": name })),
                members.iter().map(|m| m.to_string()).collect(),
                Unknown::Skip,
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
                "acme",
                ResourceType::User,
                "u2",
                None,
                NOW,
                Unknown::Skip,
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
