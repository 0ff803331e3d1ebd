//! Who may open a connection: at most `max_connections` in all and `max_connections_per_ip`
//! from one address. When all are taken, the longest-idle keep-alive connection is closed to
//! make room, so clients that hold connections open without using them cannot lock out one
//! that has a request to send; only when none is idle is the new one refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::conn::Tracker;

/// The caps one admission is checked against (read from the config at accept time, so a
/// reload applies to the next connection).
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// All open connections (`limits.max_connections`).
    pub total: usize,
    /// Open connections from one address (`limits.max_connections_per_ip`); 0 is no cap.
    pub per_ip: usize,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Its address already holds `per_ip` connections.
    PerIp,
    /// All `total` are open and none is idle.
    Full,
}

/// The open connections; shared by the accept loop and every connection's [`Slot`].
#[derive(Debug, Default)]
pub struct Gate {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Every open connection, by id.
    conns: HashMap<u64, Entry>,
    /// Open connections per address; an address leaves the map when its last one closes, so
    /// the map never holds more entries than there are connections.
    per_ip: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    tracker: Arc<Tracker>,
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&entry.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&entry.ip);
            }
        }
        Some(entry)
    }

    /// The open connection that has rested longest between requests, if any rests.
    fn longest_idle(&self) -> Option<u64> {
        // A scan, but only when the cap is reached: a map ordered by idleness would cost
        // every request of every connection an update under this lock instead.
        // Of equal rests, the older connection (the lower id) goes.
        self.conns
            .iter()
            .filter_map(|(id, e)| Some((e.tracker.idle_for()?, std::cmp::Reverse(*id))))
            .max()
            .map(|(_, std::cmp::Reverse(id))| id)
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `ip`, whose requests `tracker` follows, or says why not. At
    /// the total cap, the longest-idle connection is told to close and its place is given to
    /// this one at once, so the count never passes the cap.
    pub fn enter(
        self: &Arc<Self>,
        ip: IpAddr,
        caps: Caps,
        tracker: Arc<Tracker>,
    ) -> Result<Slot, Refused> {
        // One address, one count, whether it came as IPv4 or as IPv4-mapped IPv6.
        let ip = ip.to_canonical();
        let mut inner = self.lock();
        if caps.per_ip > 0 && inner.per_ip.get(&ip).copied().unwrap_or(0) >= caps.per_ip {
            return Err(Refused::PerIp);
        }
        let open = inner.conns.len();
        if open > caps.total {
            // The cap was lowered by a reload: let the surplus close by itself rather than
            // cut many connections at once.
            return Err(Refused::Full);
        }
        if open == caps.total {
            let victim = inner.longest_idle().ok_or(Refused::Full)?;
            if let Some(evicted) = inner.remove(victim) {
                // A request that starts in the instant before the close is lost as it would
                // be at `idle_timeout`; HTTP clients retry on a fresh connection.
                evicted.tracker.evict();
                tracing::debug!(ip = %evicted.ip, "closing the longest-idle connection to make room");
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.conns.insert(id, Entry { ip, tracker });
        *inner.per_ip.entry(ip).or_insert(0) += 1;
        Ok(Slot {
            gate: self.clone(),
            id,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().conns.len()
    }

    /// Addresses with a connection open now (the size of the per-address map).
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.lock().per_ip.len()
    }
}

/// One admitted connection; dropping it frees its place (unless an eviction already did).
pub struct Slot {
    gate: Arc<Gate>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn caps(total: usize, per_ip: usize) -> Caps {
        Caps { total, per_ip }
    }

    /// A connection with a request in flight, so it is never the one evicted.
    fn busy(
        gate: &Arc<Gate>,
        ip: IpAddr,
        c: Caps,
    ) -> Result<(Slot, super::super::conn::InFlight), Refused> {
        let t = Tracker::new();
        let guard = t.start_request();
        gate.enter(ip, c, t).map(|slot| (slot, guard))
    }

    #[test]
    fn the_gate_holds_at_most_the_total_when_none_is_idle() {
        let gate = Arc::new(Gate::default());
        let a = busy(&gate, A, caps(2, 0));
        let b = busy(&gate, B, caps(2, 0));
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(busy(&gate, A, caps(2, 0)).err(), Some(Refused::Full));
        drop(a);
        assert!(busy(&gate, A, caps(2, 0)).is_ok());
    }

    #[test]
    fn one_address_gets_at_most_per_ip_and_others_are_not_held_back() {
        let gate = Arc::new(Gate::default());
        let c = caps(10, 2);
        let held: Vec<_> = (0..2).map(|_| busy(&gate, A, c).expect("in")).collect();
        assert_eq!(busy(&gate, A, c).err(), Some(Refused::PerIp));
        // The same address written as IPv4-mapped IPv6 is the same address.
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(busy(&gate, mapped, c).err(), Some(Refused::PerIp));
        assert!(busy(&gate, B, c).is_ok());
        // 0 turns the per-address cap off.
        assert!(busy(&gate, A, caps(10, 0)).is_ok());
        drop(held);
    }

    #[test]
    fn the_per_address_map_forgets_an_address_at_zero() {
        let gate = Arc::new(Gate::default());
        let slots: Vec<_> = (0..3)
            .map(|i| busy(&gate, if i == 0 { A } else { B }, caps(10, 5)).expect("in"))
            .collect();
        assert_eq!(gate.addresses(), 2);
        drop(slots);
        assert_eq!(gate.addresses(), 0);
        assert_eq!(gate.open(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_longest_idle_connection_makes_room() {
        let gate = Arc::new(Gate::default());
        let c = caps(3, 0);
        let oldest = Tracker::new();
        let s1 = gate.enter(A, c, oldest.clone()).expect("in");
        tokio::time::sleep(Duration::from_secs(5)).await;
        let newer = Tracker::new();
        let _s2 = gate.enter(A, c, newer.clone()).expect("in");
        let (_s3, _busy) = busy(&gate, B, c).expect("in");
        tokio::time::sleep(Duration::from_secs(1)).await;

        let fresh = gate.enter(B, c, Tracker::new()).expect("room made");
        assert_eq!(gate.open(), 3);
        tokio::time::timeout(Duration::from_secs(1), oldest.evicted())
            .await
            .expect("the longest-idle connection was told to close");
        let not_told = tokio::time::timeout(Duration::from_secs(1), newer.evicted()).await;
        assert!(
            not_told.is_err(),
            "a younger idle connection was closed too"
        );
        drop(fresh);
        // The evicted one's slot already gave its place away; dropping it changes nothing.
        drop(s1);
        assert_eq!(gate.open(), 2);
    }

    #[test]
    fn a_lowered_cap_refuses_without_evicting() {
        let gate = Arc::new(Gate::default());
        let idle: Vec<_> = (0..3)
            .map(|_| gate.enter(A, caps(3, 0), Tracker::new()).expect("in"))
            .collect();
        assert_eq!(
            gate.enter(A, caps(2, 0), Tracker::new()).err(),
            Some(Refused::Full)
        );
        assert_eq!(gate.open(), 3);
        drop(idle);
    }
}
