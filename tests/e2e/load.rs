//! A burst of concurrent writers against a daemon that is about to go away (killed or shut
//! down), and the check that every write it acknowledged is there, intact and unique, after a
//! restart. Shared by `crash` and `shutdown`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{eventually, Client, Daemon, USER};

/// Requests one writer sends at most, whatever happens.
const MAX_PER_WRITER: usize = 2_000;
/// How long a burst may run at most, whatever happens.
const MAX_BURST: Duration = Duration::from_secs(60);

/// What a user's `displayName` must be after the restart.
#[derive(Debug, Clone)]
pub enum Display {
    /// Never patched.
    Unset,
    /// Patched, and the PATCH was acknowledged.
    Is(String),
    /// Patched without an answer: either unset or this.
    Maybe(String),
}

/// A create the daemon acknowledged with a 201.
#[derive(Debug, Clone)]
pub struct Acked {
    pub id: String,
    pub user_name: String,
    pub display: Display,
}

/// Writer threads creating users (every third one then patched) until the daemon stops
/// answering.
pub struct Burst {
    acked: Arc<Mutex<Vec<Acked>>>,
    count: Arc<AtomicUsize>,
    writers: Vec<JoinHandle<Vec<String>>>,
}

/// Starts `writers` threads writing to `org` of `d`; `tag` makes this burst's userNames unique.
pub fn burst(d: &Daemon, org: &str, tag: &str, writers: usize) -> Burst {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let writers = (0..writers)
        .map(|w| {
            let (c, acked, count) = (d.client(org), acked.clone(), count.clone());
            let tag = format!("{tag}-w{w}");
            std::thread::spawn(move || write_until_gone(&c, &tag, &acked, &count))
        })
        .collect();
    Burst {
        acked,
        count,
        writers,
    }
}

/// One writer: returns the answers it did not expect (none, when all is well).
fn write_until_gone(
    c: &Client,
    tag: &str,
    acked: &Mutex<Vec<Acked>>,
    count: &AtomicUsize,
) -> Vec<String> {
    let started = Instant::now();
    let mut unexpected = Vec::new();
    for n in 0..MAX_PER_WRITER {
        if started.elapsed() > MAX_BURST {
            break;
        }
        let user_name = format!("{tag}-{n}@load.test");
        let body = json!({"schemas": [USER], "userName": user_name,
                          "emails": [{"value": user_name, "primary": true}]});
        let r = match c.try_send("POST", "/Users", Some(&body)) {
            Ok(r) => r,
            Err(_) => break, // the daemon is gone: this write may or may not have landed
        };
        let Some(id) = r.body["id"].as_str().map(str::to_string) else {
            if r.status != 201 {
                unexpected.push(format!("POST {user_name}: {} {}", r.status, r.body));
            }
            break; // a 201 cut short: counted as unanswered
        };
        if r.status != 201 {
            unexpected.push(format!("POST {user_name}: {} {}", r.status, r.body));
            break;
        }
        let mut display = Display::Unset;
        let mut gone = false;
        if n % 3 == 0 {
            let value = format!("patched {n}");
            let patch = json!({"schemas": [crate::harness::PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": value}]});
            display = match c.try_send("PATCH", &format!("/Users/{id}"), Some(&patch)) {
                Ok(r) if r.status == 200 => Display::Is(value),
                Ok(r) => {
                    unexpected.push(format!("PATCH {user_name}: {} {}", r.status, r.body));
                    gone = true;
                    Display::Maybe(value)
                }
                Err(_) => {
                    gone = true;
                    Display::Maybe(value)
                }
            };
        }
        acked.lock().expect("acked").push(Acked {
            id,
            user_name,
            display,
        });
        count.fetch_add(1, Ordering::SeqCst);
        if gone {
            break;
        }
    }
    unexpected
}

impl Burst {
    /// Waits until at least `n` creates of this burst were acknowledged.
    pub fn wait_for(&self, n: usize) {
        eventually(
            &format!("{n} acknowledged writes"),
            Duration::from_secs(30),
            || (self.count.load(Ordering::SeqCst) >= n).then_some(()),
        );
    }

    /// Waits for every writer to stop (each stops at its first request without an answer)
    /// and returns the acknowledged creates; panics on any answer other than success.
    pub fn join(self) -> Vec<Acked> {
        let mut unexpected = Vec::new();
        for w in self.writers {
            unexpected.extend(w.join().expect("writer thread"));
        }
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
        let acked = self.acked.lock().expect("acked");
        acked.clone()
    }
}

/// Users per page when listing them all: small enough that a few hundred users take pages.
const PAGE: usize = 200;

/// Every user of `c`'s org, page by page.
pub fn all_users(c: &Client) -> Vec<Value> {
    let mut users = Vec::new();
    for _page in 0..1_000 {
        let r = c.get(&format!(
            "/Users?startIndex={}&count={PAGE}",
            users.len() + 1
        ));
        r.expect(200);
        let total = r.total() as usize;
        let page = r.resources();
        let empty = page.is_empty();
        users.extend(page);
        if users.len() >= total || empty {
            assert_eq!(users.len(), total, "paging lost or repeated users");
            return users;
        }
    }
    panic!("more than 1000 pages of users");
}

/// Every acknowledged create is there with its id, userName, email and acknowledged
/// `displayName`, and no userName or id appears twice.
pub fn check(c: &Client, acked: &[Acked]) {
    let users = all_users(c);
    let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for u in &users {
        let id = u["id"].as_str().expect("id").to_string();
        let name = u["userName"]
            .as_str()
            .expect("userName")
            .to_ascii_lowercase();
        if let Some(other) = names.insert(name.clone(), id.clone()) {
            panic!("userName {name} twice: {other} and {id}");
        }
        assert!(by_id.insert(id.clone(), u).is_none(), "id {id} twice");
    }
    for a in acked {
        let u = by_id
            .get(&a.id)
            .unwrap_or_else(|| panic!("acknowledged {} ({}) is gone", a.user_name, a.id));
        assert_eq!(u["userName"], a.user_name.as_str(), "{u}");
        assert_eq!(u["emails"][0]["value"], a.user_name.as_str(), "{u}");
        let display = u.get("displayName").and_then(Value::as_str);
        match &a.display {
            Display::Unset => assert_eq!(display, None, "{u}"),
            Display::Is(v) => assert_eq!(display, Some(v.as_str()), "{u}"),
            Display::Maybe(v) => assert!(display.is_none_or(|d| d == v), "{u}"),
        }
    }
}
