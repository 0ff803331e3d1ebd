//! The data dir and the store file are private to scimd's user whatever umask it starts
//! under: they hold every org's names and emails.
//!
//! The old daemon (6457fe5) created both with the umask's leftovers: under `umask 000`, a
//! world-writable data dir (0777) and a world-readable store (0666).

use std::os::unix::fs::PermissionsExt;

use crate::harness::{write_config, Daemon, Launch};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn data_dir_is_0700_and_the_store_0600_under_umask_000() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let d = Daemon::launch(
        dir,
        config,
        tokens,
        &Launch {
            umask: Some("000"),
            ..Launch::default()
        },
    );
    d.client("acme").create_user("ann@acme.com");
    let data = d.data_dir();
    assert_eq!(mode(&data), 0o700, "{}", data.display());
    // On PostgreSQL there is no store file; the dir and the socket still hold.
    if !crate::harness::on_postgres() {
        let store = data.join("scimd.redb");
        assert_eq!(mode(&store), 0o600, "{}", store.display());
    }
    let socket = data.join("scimd.sock");
    assert_eq!(mode(&socket), 0o600, "{}", socket.display());
}
