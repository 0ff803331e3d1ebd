//! `scimd store copy`: every org's users, teams and memberships (ids, versions, timestamps),
//! its change feed (numbers kept, so consumers' cursors and webhook positions stay valid) and
//! the activity history, from one store into another that holds nothing yet, so a growing
//! install moves to PostgreSQL without re-provisioning from the IdP.

use std::time::Duration;

use scimd_core::ResourceType;
use time::OffsetDateTime;

use super::activity::Retention;
use super::error::{Result, StoreError};
use super::model::{Link, Record};
use super::Store;

/// Resources read and written per transaction.
const CHUNK: usize = 500;

/// What a copy moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub orgs: usize,
    pub users: u64,
    pub teams: u64,
    pub memberships: u64,
    pub events: u64,
    pub activity: u64,
}

/// One resource as copied: its record, and a team's members.
#[derive(Clone)]
pub(crate) struct Copied {
    pub(crate) id: String,
    pub(crate) record: Record,
    pub(crate) members: Vec<Link>,
}

impl Store {
    /// The orgs that hold anything in this store.
    pub fn orgs(&self) -> Result<Vec<String>> {
        self.view(|v| v.orgs())
    }

    /// Copies everything of this store into `dest`, which must hold nothing yet. The source
    /// must not change meanwhile (stop the daemon: the redb file is locked while it runs).
    pub fn copy_into(&self, dest: &Store) -> Result<CopyReport> {
        if !dest.orgs()?.is_empty() || dest.activity_len()? > 0 {
            return Err(StoreError::Refused(
                "the destination already holds data; copy into an empty database".into(),
            ));
        }
        let mut report = CopyReport::default();
        for org in self.orgs()? {
            report.orgs += 1;
            for rt in [ResourceType::User, ResourceType::Group] {
                let mut after: Option<String> = None;
                loop {
                    let chunk = self.chunk(&org, rt, after.as_deref())?;
                    let Some(last) = chunk.last() else { break };
                    after = Some(last.id.clone());
                    let n = chunk.len() as u64;
                    let links: u64 = chunk.iter().map(|c| c.members.len() as u64).sum();
                    let o = org.clone();
                    dest.write(&org, move |tx| {
                        for c in &chunk {
                            tx.import(&o, rt, c.clone())?;
                        }
                        Ok(())
                    })?;
                    match rt {
                        ResourceType::User => report.users += n,
                        ResourceType::Group => {
                            report.teams += n;
                            report.memberships += links;
                        }
                    }
                }
            }
        }
        for org in self.orgs()? {
            report.events += self.copy_feed(&org, dest)?;
        }
        // Kept whole: the destination's own retention prunes it at its next append.
        let keep = Retention {
            max_records: u64::MAX,
            max_age: Duration::from_secs(100 * 365 * 24 * 3600),
        };
        let mut seq = 0;
        loop {
            let mut records = self.activity_after(seq, CHUNK)?;
            let Some(last) = records.last() else { break };
            seq = last.seq;
            report.activity += records.len() as u64;
            dest.append_activity(&mut records, &keep, OffsetDateTime::now_utc())?;
        }
        dest.engine.settle()?;
        Ok(report)
    }

    /// Copies `org`'s events with their numbers and counters, and its webhook positions;
    /// returns how many events.
    fn copy_feed(&self, org: &str, dest: &Store) -> Result<u64> {
        let counters = self.events(org, None, 0)?;
        let mut after = counters.pruned;
        let mut copied = 0;
        loop {
            let chunk = self.raw_events(org, after, CHUNK)?;
            let n = chunk.len();
            if let Some((last, _)) = chunk.last() {
                after = *last;
            }
            // Even an empty feed's counters are copied: numbers never go back.
            let (o, (pruned, last)) = (org.to_string(), (counters.pruned, counters.last));
            dest.run(move |tx| tx.rows.import_events(&o, &chunk, pruned, last))?;
            copied += n as u64;
            if n < CHUNK {
                break;
            }
        }
        for (endpoint, state) in self.hook_states(org)? {
            let o = org.to_string();
            dest.run(move |tx| tx.rows.hook_put(&o, &endpoint, None, &state).map(drop))?;
        }
        Ok(copied)
    }

    /// Up to [`CHUNK`] resources of `rt` after id `after`, with a team's members.
    fn chunk(&self, org: &str, rt: ResourceType, after: Option<&str>) -> Result<Vec<Copied>> {
        self.view(|v| {
            let mut out = Vec::new();
            v.scan(org, rt, after, 0, &mut |id, record| {
                out.push(Copied {
                    id: id.to_string(),
                    record,
                    members: Vec::new(),
                });
                Ok(out.len() < CHUNK)
            })?;
            if rt == ResourceType::Group {
                for c in &mut out {
                    c.members = v.members(org, &c.id)?;
                }
            }
            Ok(out)
        })
    }
}
