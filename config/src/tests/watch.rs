//! The live-reload watcher on a real folder: in-place writes, save by rename, broken files,
//! vanishing files, and writes that change nothing. Every wait is a deadline, never a sleep.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use crate::{Config, ConfigError, Watcher};

/// Generous, because CI machines stall; a passing run never waits this long.
const DEADLINE: Duration = Duration::from_secs(10);

type Events = Receiver<Result<Config, ConfigError>>;

fn start(text: &str) -> (tempfile::TempDir, PathBuf, Watcher, Events) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    fs::write(&path, text).unwrap();
    let (tx, rx) = mpsc::channel();
    let watcher = Watcher::spawn(&path, move |result| {
        let _ = tx.send(result);
    })
    .unwrap();
    (dir, path, watcher, rx)
}

fn next(rx: &Events) -> Result<Config, ConfigError> {
    match rx.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(e) => panic!("no reload within {DEADLINE:?}: {e}"),
    }
}

fn org_names(config: &Config) -> Vec<&str> {
    config.orgs.keys().map(String::as_str).collect()
}

fn replace_by_rename(path: &Path, text: &str) {
    let tmp = path.with_file_name(".scimd.toml.swp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

#[test]
fn in_place_write_reloads() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(&path, "[orgs.a]\n[orgs.b]\n").unwrap();
    let config = next(&rx).unwrap();
    assert_eq!(org_names(&config), ["a", "b"]);
    assert_eq!(config.path, path);
}

#[test]
fn save_by_rename_reloads() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    replace_by_rename(&path, "[orgs.renamed]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["renamed"]);
    // The watch survives the rename: the next save is seen too.
    replace_by_rename(&path, "[orgs.again]\n");
    assert_eq!(org_names(&next(&rx).unwrap()), ["again"]);
}

#[test]
fn broken_file_reports_the_error_then_the_fix() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(&path, "[orgs.a]\nteam_name_max = 0\n").unwrap();
    let err = next(&rx).unwrap_err().to_string();
    assert!(err.contains(":2:17: orgs.a.team_name_max: "), "{err}");

    fs::write(&path, "[orgs.a\n").unwrap();
    assert!(matches!(next(&rx), Err(ConfigError::Parse { .. })));

    fs::write(&path, "[orgs.a]\nteam_name_max = 5\n").unwrap();
    let config = next(&rx).unwrap();
    assert_eq!(config.org("a").unwrap().team_name_max, 5);
}

#[test]
fn unchanged_bytes_do_not_reload() {
    let text = "[orgs.a]\n";
    let (_dir, path, _watcher, rx) = start(text);
    // Rewriting the same bytes and touching the file are events, but not changes: if either
    // produced a callback, it would arrive before the real change below and fail the assert.
    fs::write(&path, text).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    replace_by_rename(&path, text);
    fs::write(&path, "[orgs.changed]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["changed"]);
}

#[test]
fn a_file_that_vanishes_briefly_is_not_an_error() {
    let (_dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::remove_file(&path).unwrap();
    fs::write(&path, "[orgs.back]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["back"]);
}

#[test]
fn a_file_that_stays_gone_is_reported_then_its_return_is_seen() {
    let text = "[orgs.a]\n";
    let (_dir, path, _watcher, rx) = start(text);
    fs::remove_file(&path).unwrap();
    match next(&rx) {
        Err(ConfigError::Io { source, path: p }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert_eq!(p, path);
        }
        other => panic!("{other:?}"),
    }
    // Same bytes as before the removal, yet reported: the running config must learn the file
    // is back.
    fs::write(&path, text).unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["a"]);
}

#[test]
fn other_files_in_the_folder_are_ignored() {
    let (dir, path, _watcher, rx) = start("[orgs.a]\n");
    fs::write(dir.path().join("other.toml"), "garbage [").unwrap();
    fs::write(dir.path().join("scimd.toml.bak"), "garbage [").unwrap();
    fs::write(&path, "[orgs.b]\n").unwrap();
    assert_eq!(org_names(&next(&rx).unwrap()), ["b"]);
}

#[test]
fn dropping_the_watcher_stops_callbacks() {
    let (_dir, path, watcher, rx) = start("[orgs.a]\n");
    drop(watcher);
    fs::write(&path, "[orgs.b]\n").unwrap();
    // The callback (and with it the sender) is dropped once the watch threads end.
    match rx.recv_timeout(DEADLINE) {
        Err(RecvTimeoutError::Disconnected) => {}
        other => panic!("expected the callback to be dropped, got {other:?}"),
    }
}
