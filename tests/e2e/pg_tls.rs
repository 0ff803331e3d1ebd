//! TLS to PostgreSQL: the daemon against a cluster of the test's own that takes TLS only, its
//! certificate from a CA the test makes. Only the `e2e-postgres` binary runs these.

use std::path::{Path, PathBuf};
use std::process::Command;

use scimd_tests::pg::{PgCluster, TestCa, CERT_USER, SCRAM_USER};

use crate::harness::{on_postgres, scimd, scimd_bin, write_config, Daemon};

/// A TLS-only cluster and its CA, or None (with a note) on the redb binary.
fn tls_cluster(what: &str) -> Option<(PgCluster, TestCa)> {
    if !on_postgres() {
        println!("skipped: {what} (PostgreSQL only)");
        return None;
    }
    // The shared cluster tells whether PostgreSQL is here at all (and fails under CI if not).
    scimd_tests::pg::require()?;
    let ca = TestCa::new("scimd e2e CA").expect("CA");
    let cluster = PgCluster::start_tls(&ca).expect("a TLS-only cluster");
    Some((cluster, ca))
}

/// A fresh database of `cluster`, its URL with `params` added.
fn url_with(cluster: &PgCluster, params: &str) -> String {
    format!("{}?{params}", cluster.create_database().expect("database"))
}

/// The database a URL names (its parameters hold paths, so the query goes first).
fn db_of(url: &str) -> String {
    let before_query = url.split('?').next().expect("url");
    before_query.rsplit('/').next().expect("db name").to_string()
}

/// A fresh database of `cluster`, `sslmode=verify-full` with `root` as the CA file.
fn verify_full(cluster: &PgCluster, root: &Path) -> String {
    url_with(
        cluster,
        &format!("sslmode=verify-full&sslrootcert={}", root.display()),
    )
}

/// A config in `dir` for org acme whose `[store] url` is `url`.
fn config_on(dir: &Path, url: &str) -> (PathBuf, std::collections::BTreeMap<String, String>) {
    let (config, tokens) = write_config(dir, &["acme"]);
    let text = std::fs::read_to_string(&config).expect("config");
    let line = text
        .lines()
        .find(|l| l.starts_with("url = "))
        .expect("a [store] url")
        .to_string();
    let text = text.replace(&line, &format!("url = \"{url}\""));
    std::fs::write(&config, text).expect("point at url");
    // Some URLs here hold a password: the daemon warns about a config others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (config, tokens)
}

/// What `scimd serve` said on stderr when it refused to start on `url`; it must exit
/// non-zero, by itself, with the reason on one line.
fn refused_on(url: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _) = config_on(dir.path(), url);
    let out = Command::new(scimd_bin())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .env("RUST_LOG", "off")
        .output()
        .expect("run scimd");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "started on {url}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    println!("refused: {err}");
    err
}

/// Whether the database `db` of `cluster` has a session of scimd's over TLS now.
fn scimd_uses_tls(cluster: &PgCluster, db: &str) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE ssl AND application_name = 'scimd' AND datname = '{db}'"
    );
    cluster
        .psql("postgres", &sql)
        .expect("pg_stat_ssl")
        .parse::<u32>()
        .expect("a count")
        > 0
}

#[test]
fn verify_full_with_the_right_ca_serves_scim_requests_over_tls() {
    let Some((cluster, _ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    let url = verify_full(&cluster, cluster.ca_file().expect("CA file"));
    let db = db_of(&url);
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = config_on(dir.path(), &url);

    let checked = scimd(&["check-config"], &config);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(said.contains("(pool 4, tls: verify-full)"), "{said}");

    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    let got = c.get(&format!("/Users/{ann}"));
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["userName"], "ann@acme.com");
    assert!(scimd_uses_tls(&cluster, &db), "no TLS session of scimd's");
}

#[test]
fn a_certificate_from_another_ca_is_refused_at_start() {
    let Some((cluster, _ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    let other = TestCa::new("another CA").expect("CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("other-ca.pem");
    std::fs::write(&root, other.pem()).expect("write CA");
    for mode in ["verify-full", "verify-ca"] {
        let url = url_with(
            &cluster,
            &format!("sslmode={mode}&sslrootcert={}", root.display()),
        );
        let err = refused_on(&url);
        assert!(err.contains("cannot connect to PostgreSQL"), "{mode}: {err}");
        assert!(err.contains("invalid peer certificate"), "{mode}: {err}");
        assert!(err.contains("UnknownIssuer"), "{mode}: {err}");
    }
    // A root file that is not there is named.
    let missing = dir.path().join("missing.pem");
    let err = refused_on(&url_with(
        &cluster,
        &format!("sslmode=verify-full&sslrootcert={}", missing.display()),
    ));
    assert!(err.contains(&format!("sslrootcert {}", missing.display())), "{err}");
}

#[test]
fn a_mode_the_server_refuses_stops_the_start_with_its_reason() {
    let Some((cluster, _ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    // pg_hba.conf has hostssl lines only: the server's own FATAL says why.
    let err = refused_on(&url_with(&cluster, "sslmode=disable"));
    assert!(err.contains("no pg_hba.conf entry"), "{err}");
    assert!(err.contains("no encryption"), "{err}");

    // The other way round: TLS required of a server without it (the shared cluster).
    let plain = scimd_tests::pg::require().expect("the shared cluster");
    let err = refused_on(&url_with(plain, "sslmode=require"));
    assert!(err.contains("server does not support TLS"), "{err}");
}

#[test]
fn prefer_and_require_encrypt_without_a_root_and_scram_binds_to_the_session() {
    let Some((cluster, _ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    // SCRAM over TLS: tokio-postgres picks SCRAM-SHA-256-PLUS when the connector gives the
    // certificate's hash, and the server refuses the login if that hash is wrong.
    cluster
        .psql(
            "postgres",
            &format!("CREATE ROLE {SCRAM_USER} LOGIN PASSWORD 'pw-e2e'"),
        )
        .expect("SCRAM role");
    for mode in ["prefer", "require"] {
        let url = url_with(&cluster, &format!("sslmode={mode}"));
        let db = db_of(&url);
        cluster
            .psql("postgres", &format!("ALTER DATABASE {db} OWNER TO {SCRAM_USER}"))
            .expect("owner");
        let url = url.replace(
            "scimd_test@",
            &format!("{SCRAM_USER}:pw-e2e@"),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, tokens) = config_on(dir.path(), &url);
        let d = Daemon::start_in(dir, config, tokens);
        let c = d.client("acme");
        let ann = c.create_user("ann@acme.com");
        assert_eq!(c.get(&format!("/Users/{ann}")).status, 200, "{mode}");
        assert!(scimd_uses_tls(&cluster, &db), "{mode}: no TLS session");
    }
}

#[test]
fn store_copy_takes_the_same_tls_url() {
    let Some((cluster, _ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    // An install on redb: the config without its [store] table.
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = write_config(dir.path(), &["acme"]);
    let text = std::fs::read_to_string(&config).expect("config");
    let start = text.find("\n[store]").expect("[store]");
    let end = start + text[start..].find("pool_size").expect("pool_size");
    let end = end + text[end..].find('\n').expect("line end");
    std::fs::write(&config, format!("{}{}", &text[..start], &text[end..])).expect("redb");
    let d = Daemon::start_in(dir, config, tokens);
    d.client("acme").create_user("ann@acme.com");
    let (_dir, config, _tokens) = d.stop();

    let url = verify_full(&cluster, cluster.ca_file().expect("CA file"));
    let said = crate::scaleout::store_copy(&config, &url);
    assert!(crate::scaleout::copied_ok(&said), "{said}");
    assert!(said.contains("1 org(s): 1 users"), "{said}");
    let users = cluster
        .psql(&db_of(&url), "SELECT count(*) FROM scimd_users")
        .expect("count");
    assert_eq!(users, "1");
}

#[test]
fn a_client_certificate_logs_scimd_in_where_the_server_asks_for_one() {
    let Some((cluster, ca)) = tls_cluster("TLS to PostgreSQL") else {
        return;
    };
    cluster
        .psql(
            "postgres",
            &format!("CREATE ROLE {CERT_USER} LOGIN SUPERUSER"),
        )
        .expect("a role that logs in by certificate");
    let files = tempfile::tempdir().expect("tempdir");
    let (cert, key) = ca.issue(&[CERT_USER]).expect("a client certificate");
    let (cert_file, key_file) = (files.path().join("client.pem"), files.path().join("client.key"));
    std::fs::write(&cert_file, cert).expect("cert");
    std::fs::write(&key_file, key).expect("key");
    let root = cluster.ca_file().expect("CA file");
    let db = db_of(&cluster.create_database().expect("database"));
    let url = |client: &str| {
        format!(
            "postgres://{CERT_USER}@127.0.0.1:{}/{db}?sslmode=verify-full&sslrootcert={}{client}",
            cluster.port(),
            root.display()
        )
    };

    // Without the certificate the server's `cert` line refuses the login, with its reason.
    let err = refused_on(&url(""));
    assert!(err.contains("certificate"), "{err}");

    // With it, scimd logs in as the certificate's role and serves.
    let with_cert = url(&format!(
        "&sslcert={}&sslkey={}",
        cert_file.display(),
        key_file.display()
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, tokens) = config_on(dir.path(), &with_cert);
    let d = Daemon::start_in(dir, config, tokens);
    let c = d.client("acme");
    let ann = c.create_user("ann@acme.com");
    assert_eq!(c.get(&format!("/Users/{ann}")).status, 200);
    assert!(scimd_uses_tls(&cluster, &db), "no TLS session of scimd's");
}
