//! A read snapshot's cache of users' teams on PostgreSQL: the memberships of a page of users
//! read in a few queries, with each team's displayName kept beside them, so a listing's `groups`
//! costs no query per user and none per team (issue 21). The same idea as the redb Reader's
//! membership window, in rows a query brings rather than in a range walked.

use std::collections::HashMap;

use tokio_postgres::Row;

/// One row of [`ONE`] or [`WINDOW`]: user id, team id, and the team's displayName (None:
/// no such team).
pub(super) type Membership = (String, String, Option<String>);

/// The memberships in `rows` of [`ONE`] or [`WINDOW`].
pub(super) fn memberships(rows: &[Row]) -> Vec<Membership> {
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get::<_, bool>(2).then(|| r.get(3))))
        .collect()
}

/// Membership rows one window query reads at most. A page of 100 users (the default count)
/// in up to ten teams each fits in one window; more only costs another query per window.
pub(super) const WINDOW_ROWS: usize = 1024;

/// One user's memberships with their teams' names, by team id, from the membership index
/// alone (migration 6 keeps each team's name there, NULL for a team that is gone: `teams_of`
/// reports it, `team_name` says None).
pub(super) const ONE: &str = "SELECT m.uid, m.gid, m.team IS NOT NULL, coalesce(m.team, '') \
     FROM scimd_members m WHERE m.org = $1 AND m.uid = $2 ORDER BY m.gid";

/// The memberships of the users from `$2` on, in (user, team) order, at most `$3` rows: the
/// `scimd_members_by_user` index read in order, so the LIMIT stops the scan early.
pub(super) const WINDOW: &str = "SELECT m.uid, m.gid, m.team IS NOT NULL, coalesce(m.team, '') \
     FROM scimd_members m WHERE m.org = $1 AND m.uid >= $2 ORDER BY m.uid, m.gid LIMIT $3";

/// What a Reader knows of users' teams so far.
#[derive(Default)]
pub(super) struct Teams {
    /// The users' teams one query answered, when one did.
    window: Option<Window>,
    /// How many times `teams_of` had to query.
    misses: u32,
    /// The org `names` are of.
    names_org: String,
    /// Team id → displayName (None: no such team), as membership queries brought them.
    names: HashMap<String, Option<String>>,
}

/// The memberships of every user from `from` up to `end` (exclusive; None: to the org's
/// end): users in that range without a row are in no team.
struct Window {
    org: String,
    from: String,
    end: Option<String>,
    /// (user id, team id), in that order.
    rows: Vec<(String, String)>,
}

impl Window {
    fn covers(&self, org: &str, uid: &str) -> bool {
        self.org == org && self.from.as_str() <= uid && self.end.as_deref().is_none_or(|e| uid < e)
    }

    fn teams(&self, uid: &str) -> Vec<String> {
        let start = self.rows.partition_point(|(u, _)| u.as_str() < uid);
        self.rows[start..]
            .iter()
            .take_while(|(u, _)| u == uid)
            .map(|(_, g)| g.clone())
            .collect()
    }
}

/// How `teams_of` answers a user the cache does not cover.
pub(super) enum Plan {
    /// Read this user's memberships alone ([`ONE`]).
    One,
    /// Read a window of memberships from this user on ([`WINDOW`]).
    Window,
}

impl Teams {
    /// The teams of `uid`, when the window covers that user.
    pub(super) fn cached(&self, org: &str, uid: &str) -> Option<Vec<String>> {
        self.window
            .as_ref()
            .filter(|w| w.covers(org, uid))
            .map(|w| w.teams(uid))
    }

    /// How to read a user the cache missed. The first miss of a snapshot reads that user
    /// alone: a single GET (or an indexed `eq`) wants one user's teams, not the next users'.
    /// A second miss means a page is being read in id order, so from then on the memberships
    /// ahead are read a window at a time.
    pub(super) fn plan(&mut self) -> Plan {
        self.misses += 1;
        if self.misses == 1 {
            Plan::One
        } else {
            Plan::Window
        }
    }

    /// Takes in one user's memberships ([`ONE`]): their teams, by team id.
    pub(super) fn one(&mut self, org: &str, rows: Vec<Membership>) -> Vec<String> {
        self.remember_names(org, &rows);
        rows.into_iter().map(|(_, gid, _)| gid).collect()
    }

    /// Takes in the memberships of a window ([`WINDOW`]) read from user `uid` on, `limit`
    /// rows at most. Returns `uid`'s teams, or None when `uid` alone filled the window (their
    /// teams may go on past it, so they must be read alone).
    pub(super) fn window(
        &mut self,
        org: &str,
        uid: &str,
        rows: Vec<Membership>,
        limit: usize,
    ) -> Option<Vec<String>> {
        self.remember_names(org, &rows);
        let full = rows.len() >= limit;
        let mut pairs: Vec<(String, String)> = rows.into_iter().map(|(u, g, _)| (u, g)).collect();
        // A full window may have cut its last user's teams short: that user is left out of
        // the covered range, to be read again from their first team.
        let end = if full {
            pairs.last().map(|(u, _)| u.clone())
        } else {
            None
        };
        if let Some(last) = &end {
            if last == uid {
                return None;
            }
            let keep = pairs.partition_point(|(u, _)| u < last);
            pairs.truncate(keep);
        }
        let window = Window {
            org: org.to_string(),
            from: uid.to_string(),
            end,
            rows: pairs,
        };
        let teams = window.teams(uid);
        self.window = Some(window);
        Some(teams)
    }

    /// The displayName of team `gid` when a membership query brought it.
    pub(super) fn name(&self, org: &str, gid: &str) -> Option<Option<String>> {
        if self.names_org != org {
            return None;
        }
        self.names.get(gid).cloned()
    }

    /// Keeps a team's name read by a query of its own, for the page's next users.
    pub(super) fn remember_name(&mut self, org: &str, gid: &str, name: Option<String>) {
        self.switch_org(org);
        self.names.insert(gid.to_string(), name);
    }

    fn remember_names(&mut self, org: &str, rows: &[Membership]) {
        self.switch_org(org);
        for (_, gid, name) in rows {
            self.names.insert(gid.clone(), name.clone());
        }
    }

    /// Names are kept for one org at a time: a snapshot reads one org's page.
    fn switch_org(&mut self, org: &str) {
        if self.names_org != org {
            self.names.clear();
            self.names_org = org.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Vec<Membership> {
        pairs
            .iter()
            .map(|(u, g)| (u.to_string(), g.to_string(), Some(format!("name-{g}"))))
            .collect()
    }

    #[test]
    fn the_first_miss_reads_one_user_and_the_next_a_window() {
        let mut t = Teams::default();
        assert!(matches!(t.plan(), Plan::One));
        assert!(matches!(t.plan(), Plan::Window));
        assert!(matches!(t.plan(), Plan::Window));
    }

    #[test]
    fn a_window_short_of_its_limit_covers_every_user_after_its_start() {
        let mut t = Teams::default();
        let got = t.window("o", "b", rows(&[("b", "g1"), ("b", "g2"), ("d", "g1")]), 4);
        assert_eq!(got, Some(vec!["g1".to_string(), "g2".to_string()]));
        // A user with no membership inside the range is in no team, without a query.
        assert_eq!(t.cached("o", "c"), Some(vec![]));
        assert_eq!(t.cached("o", "d"), Some(vec!["g1".to_string()]));
        assert_eq!(t.cached("o", "zzz"), Some(vec![]));
        // Before its start, or another org: not covered.
        assert_eq!(t.cached("o", "a"), None);
        assert_eq!(t.cached("p", "c"), None);
        assert_eq!(t.name("o", "g2"), Some(Some("name-g2".to_string())));
        assert_eq!(t.name("p", "g2"), None);
    }

    #[test]
    fn a_full_window_leaves_out_its_last_user_whose_teams_it_may_have_cut() {
        let mut t = Teams::default();
        let got = t.window("o", "a", rows(&[("a", "g1"), ("b", "g1"), ("c", "g1")]), 3);
        assert_eq!(got, Some(vec!["g1".to_string()]));
        assert_eq!(t.cached("o", "b"), Some(vec!["g1".to_string()]));
        assert_eq!(t.cached("o", "bb"), Some(vec![]));
        assert_eq!(t.cached("o", "c"), None);
    }

    #[test]
    fn a_user_who_fills_a_window_alone_is_read_alone() {
        let mut t = Teams::default();
        let got = t.window("o", "a", rows(&[("a", "g1"), ("a", "g2")]), 2);
        assert_eq!(got, None);
        assert_eq!(t.cached("o", "a"), None);
        let one = t.one("o", rows(&[("a", "g1"), ("a", "g2"), ("a", "g3")]));
        assert_eq!(one.len(), 3);
        assert_eq!(t.name("o", "g3"), Some(Some("name-g3".to_string())));
    }

    #[test]
    fn a_membership_of_a_team_that_is_gone_has_no_name() {
        let mut t = Teams::default();
        let gone = vec![("a".to_string(), "g9".to_string(), None)];
        assert_eq!(t.one("o", gone), vec!["g9".to_string()]);
        assert_eq!(t.name("o", "g9"), Some(None));
    }
}
