//! A whole org read from one snapshot, for a consumer building its copy of the directory:
//! every user, every team, every membership, and the number of the newest event the same
//! snapshot holds, so following the feed from it yields exactly the changes after. Read in
//! bounded batches and handed on one item at a time, never gathered whole.

use scimd_core::ResourceType;

use scimd_core::ScimError;

use super::error::Result;
use super::model::{meta_of, Resource, Source, Walk};
use super::rows::Membership;
use super::Store;

/// How many memberships one read takes.
const MEMBER_BATCH: usize = 1000;

/// One item of a snapshot, in the order they come: users, teams, memberships, the end.
#[derive(Debug)]
pub enum Item {
    User(Resource),
    /// A team, without its members (they come as [`Item::Member`]s).
    Team(Resource),
    Member {
        team_id: String,
        team_name: String,
        user_id: String,
        user_name: String,
    },
    /// The last item: the newest event number in the snapshot, and how many of each kind
    /// came before.
    End {
        cursor: u64,
        users: u64,
        teams: u64,
        members: u64,
    },
}

/// What a snapshot's consumer returns for each item: whether to go on.
pub type Emit<'a> = dyn FnMut(Item) -> Result<bool> + 'a;

impl Store {
    /// Visits every user, then every team with its members, of `org` in id order, all from
    /// one read snapshot (what `scimd export` writes); `visit` returns false to stop.
    pub fn visit_org(
        &self,
        org: &str,
        visit: &mut dyn FnMut(ResourceType, Resource) -> std::result::Result<bool, ScimError>,
    ) -> Result<()> {
        self.view(|v| {
            let mut going = true;
            for rt in [ResourceType::User, ResourceType::Group] {
                if !going {
                    break;
                }
                let with_links = rt == ResourceType::Group;
                let walk = Walk {
                    source: &Source::All,
                    after: None,
                    skip: 0,
                    with_links,
                };
                super::read::visit(v, org, rt, walk, &mut |r| {
                    going = visit(rt, r)?;
                    Ok(going)
                })?;
            }
            Ok(())
        })
    }

    /// Hands every item of `org` to `emit`, from one read snapshot; stops early (without the
    /// end) when `emit` returns false.
    pub fn snapshot(&self, org: &str, emit: &mut Emit<'_>) -> Result<()> {
        self.view(|v| {
            let mut counts = [0u64; 3];
            let mut going = true;
            for (i, rt) in [ResourceType::User, ResourceType::Group]
                .into_iter()
                .enumerate()
            {
                if !going {
                    break;
                }
                v.scan(org, rt, None, 0, &mut |id, rec| {
                    let r = Resource {
                        id: id.to_string(),
                        meta: meta_of(&rec),
                        attrs: rec.attrs,
                        links: None,
                    };
                    counts[i] += 1;
                    going = emit(match rt {
                        ResourceType::User => Item::User(r),
                        ResourceType::Group => Item::Team(r),
                    })?;
                    Ok(going)
                })?;
            }
            let mut after: Option<(String, String)> = None;
            while going {
                let batch = v.memberships(
                    org,
                    after.as_ref().map(|(g, u)| (g.as_str(), u.as_str())),
                    MEMBER_BATCH,
                )?;
                let full = batch.len() == MEMBER_BATCH;
                for Membership {
                    gid,
                    team,
                    uid,
                    user,
                } in batch
                {
                    after = Some((gid.clone(), uid.clone()));
                    counts[2] += 1;
                    going = emit(Item::Member {
                        team_id: gid,
                        team_name: team,
                        user_id: uid,
                        user_name: user,
                    })?;
                    if !going {
                        break;
                    }
                }
                if !full {
                    break;
                }
            }
            if going {
                let cursor = v.last_event(org)?;
                emit(Item::End {
                    cursor,
                    users: counts[0],
                    teams: counts[1],
                    members: counts[2],
                })?;
            }
            Ok(())
        })
    }
}
