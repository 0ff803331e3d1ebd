//! The backends under test, a fresh store of each, and `conformance!`, which turns one test
//! body into a test per backend.

use scimd::store::Store;
use serde_json::{Map, Value};

/// Every backend the daemon has.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Redb,
    Postgres,
}

/// A fresh, empty store and what keeps it alive (the redb file's folder).
pub struct Fresh {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// A fresh store; None when PostgreSQL is unavailable here and this is not CI (the suite
    /// says so and the test passes as skipped; `CI=true` makes it fail instead).
    pub fn fresh(self) -> Option<Fresh> {
        match self {
            Backend::Redb => {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = Store::open(&dir.path().join("scimd.redb")).expect("open redb");
                Some(Fresh {
                    store,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let cluster = scimd_tests::pg::require()?;
                let url = cluster.create_database().expect("database");
                let store = scimd::pg_url::open(&url, 4).expect("open postgres");
                Some(Fresh { store, _dir: None })
            }
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // The writer's last batch, and the connections, end before the database goes.
        self.store.close();
    }
}

/// `{...}` as attributes.
pub fn attrs(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The time every write of the suite carries.
pub const NOW: &str = "2026-12-07T00:00:00.000Z";

/// `conformance!(name, |fresh| body)`: a module `name` with one test per backend running
/// `body` on a fresh store.
#[macro_export]
macro_rules! conformance {
    ($name:ident, |$fresh:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($fresh: &$crate::backend::Fresh) $body

            #[test]
            fn redb() {
                if let Some(f) = $crate::backend::Backend::Redb.fresh() {
                    run(&f);
                }
            }

            #[test]
            fn postgres() {
                if let Some(f) = $crate::backend::Backend::Postgres.fresh() {
                    run(&f);
                }
            }
        }
    };
}
