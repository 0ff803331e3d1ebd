//! Webhook positions: a new endpoint starts after the org's last event, saves read back, and a
//! store shared by several daemons gives one endpoint to one daemon at a time.

use std::time::Duration;

use scimd::store::hooks::{HookState, Lease};

use crate::conformance;
use crate::resources::user;

fn lease(owner: &str) -> Lease {
    Lease {
        owner: owner.into(),
        ttl: Duration::from_secs(30),
    }
}

conformance!(
    a_position_starts_after_the_last_event_and_saves_read_back,
    |f| {
        user(&f.store, "u1", "ann@acme.com").unwrap();
        user(&f.store, "u2", "bo@acme.com").unwrap();
        let me = lease("me");
        let state = f
            .store
            .hook_claim("acme", "ep1", &me)
            .unwrap()
            .expect("claimed");
        assert_eq!(state.delivered, 2, "starts after the org's last event");
        let saved = HookState {
            delivered: 1,
            attempts: 3,
            ..state.clone()
        };
        assert!(f.store.hook_save("acme", "ep1", &me, &saved).unwrap());
        let states = f.store.hook_states("acme").unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].0, "ep1");
        assert_eq!((states[0].1.delivered, states[0].1.attempts), (1, 3));
        // Claimed again: the saved state, not a new one.
        let again = f
            .store
            .hook_claim("acme", "ep1", &me)
            .unwrap()
            .expect("claimed");
        assert_eq!(again.delivered, 1);
        assert!(f.store.hook_states("other").unwrap().is_empty());
    }
);

conformance!(
    a_shared_store_gives_an_endpoint_to_one_daemon_at_a_time,
    |f| {
        let (a, b) = (lease("daemon-a"), lease("daemon-b"));
        assert!(f.store.hook_claim("acme", "ep1", &a).unwrap().is_some());
        let other = f.store.hook_claim("acme", "ep1", &b).unwrap();
        // One process holds an embedded file: there is no other daemon to keep out.
        assert_eq!(other.is_none(), f.store.capabilities().shared);
        f.store.hook_release("acme", "ep1", &a).unwrap();
        assert!(f.store.hook_claim("acme", "ep1", &b).unwrap().is_some());
    }
);
