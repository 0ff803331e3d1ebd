//! Table tests for the two-stage parse: defaults, path resolution, and every error naming its key
//! and line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{
    token, ActivityConfig, Config, ConfigError, LimitsConfig, LogFormat, RateLimit, UnknownMembers,
    Usernames,
};

fn hash_a() -> String {
    token::hash("scimd_a")
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/etc/scimd/scimd.toml"))
}

#[test]
fn empty_file_gets_every_default() {
    let config = parse("").unwrap();
    assert_eq!(config.path, PathBuf::from("/etc/scimd/scimd.toml"));
    assert_eq!(
        config.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.public_url, None);
    assert_eq!(config.data_dir, PathBuf::from("/etc/scimd/data"));
    assert_eq!(config.socket, PathBuf::from("/etc/scimd/data/scimd.sock"));
    assert_eq!(config.tls, None);
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.activity.max_records, 10_000);
    assert_eq!(config.activity.max_age, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(config.activity, ActivityConfig::default());
    let limits = config.limits;
    assert_eq!(limits.max_connections, 1024);
    assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
    assert_eq!(limits.idle_timeout, Duration::from_secs(60));
    assert_eq!(limits.body_read_timeout, Duration::from_secs(30));
    assert_eq!(limits.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(limits.max_values_per_attribute, 100);
    assert_eq!(limits.max_indexed_length, 512);
    assert_eq!(limits.max_string_length, 16_384);
    assert_eq!(limits.max_extension_bytes, 16_384);
    assert_eq!(limits.max_sorted_window, 10_000);
    assert_eq!(limits.max_connections_per_ip, 256);
    assert_eq!(limits, LimitsConfig::default());
    assert!(config.orgs.is_empty());
    assert_eq!(config.metrics, None, "no metrics listener unless asked");
}

#[test]
fn metrics_listen_is_an_address_of_its_own() {
    let config = parse("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
    assert_eq!(config.metrics, Some("127.0.0.1:9464".parse().unwrap()));
    let err = parse("[metrics]\nlisten = \"localhost\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("metrics.listen"), "{err}");
    let err = parse("listen = \"0.0.0.0:8080\"\n[metrics]\nlisten = \"127.0.0.1:8080\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("port of their own"), "{err}");
    let err = parse("[metrics]\nport = 9464\n").unwrap_err().to_string();
    assert!(err.contains("port"), "{err}");
    let (a, b) = (
        parse("").unwrap(),
        parse("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap(),
    );
    assert_eq!(
        a.diff(&b).restart_needed,
        vec!["metrics.listen".to_string()]
    );
}

#[test]
fn org_defaults() {
    let config = parse("[orgs.Acme]\n").unwrap();
    let org = config.org("acme").unwrap();
    assert_eq!(org.name, "acme");
    assert_eq!(org.display_name, "Acme", "defaults to the name as written");
    assert!(org.tokens.is_empty());
    assert!(org.enabled);
    assert_eq!(org.team_name_max, 100);
    assert_eq!(org.unknown_members, UnknownMembers::Skip);
    assert_eq!(org.rate_limit, None, "unlimited unless set");
}

#[test]
fn full_file_is_read_as_written() {
    let text = format!(
        r#"
listen = "0.0.0.0:9443"
public_url = "https://scim.example.com/"
data_dir = "/var/lib/scimd"
socket = "run/scimd.sock"
[log]
level = "debug"
format = "json"
[tls]
cert = "tls/cert.pem"
key = "/etc/ssl/key.pem"
[activity]
max_records = 500
max_age_days = 7
[limits]
max_connections = 64
header_read_timeout_secs = 5
idle_timeout_secs = 120
body_read_timeout_secs = 15
shutdown_timeout_secs = 0
max_values_per_attribute = 20
max_indexed_length = 256
max_string_length = 4096
max_extension_bytes = 2048
max_sorted_window = 500
max_connections_per_ip = 0
[orgs.acme]
display_name = "Acme Corp"
tokens = ["{a}", "{b}"]
enabled = false
team_name_max = 1000
unknown_members = "reject"
usernames = "mutable"
rate_limit = 50
rate_burst = 120
[orgs.globex]
rate_limit = 7
"#,
        a = hash_a(),
        b = token::hash("scimd_b"),
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.listen, "0.0.0.0:9443".parse::<SocketAddr>().unwrap());
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://scim.example.com")
    );
    assert_eq!(
        config.data_dir,
        PathBuf::from("/var/lib/scimd"),
        "absolute stays"
    );
    assert_eq!(config.socket, PathBuf::from("/etc/scimd/run/scimd.sock"));
    let tls = config.tls.as_ref().unwrap();
    assert_eq!(tls.cert, PathBuf::from("/etc/scimd/tls/cert.pem"));
    assert_eq!(tls.key, PathBuf::from("/etc/ssl/key.pem"));
    assert_eq!(config.log.level, "debug");
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.activity.max_records, 500);
    assert_eq!(config.activity.max_age, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(
        config.limits,
        LimitsConfig {
            max_connections: 64,
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
            body_read_timeout: Duration::from_secs(15),
            shutdown_timeout: Duration::ZERO,
            max_values_per_attribute: 20,
            max_indexed_length: 256,
            max_string_length: 4096,
            max_extension_bytes: 2048,
            max_sorted_window: 500,
            max_connections_per_ip: 0,
        }
    );
    let acme = config.org("ACME").unwrap();
    assert_eq!(acme.display_name, "Acme Corp");
    assert_eq!(acme.tokens.len(), 2);
    assert!(!acme.enabled);
    assert_eq!(acme.team_name_max, 1000);
    assert_eq!(acme.unknown_members, UnknownMembers::Reject);
    assert_eq!(acme.usernames, Usernames::Mutable);
    assert_eq!(
        config.org("globex").unwrap().usernames,
        Usernames::Immutable
    );
    assert_eq!(
        acme.rate_limit,
        Some(RateLimit {
            per_second: 50,
            burst: 120
        })
    );
    let globex = config.org("globex").unwrap();
    assert_eq!(
        globex.rate_limit,
        Some(RateLimit {
            per_second: 7,
            burst: 7
        }),
        "the burst defaults to the rate"
    );
    assert_eq!(config.orgs.keys().collect::<Vec<_>>(), ["acme", "globex"]);
    assert!(config.org("initech").is_none());
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let rows: &[(&str, &str, &str)] = &[
        // (config path, data_dir, expected data_dir)
        ("/srv/a/scimd.toml", "data", "/srv/a/data"),
        ("/srv/a/scimd.toml", "../b", "/srv/a/../b"),
        ("/srv/a/scimd.toml", "/abs", "/abs"),
        ("conf/scimd.toml", "data", "conf/data"),
        // A bare file name: relative to the working directory, like the file itself.
        ("scimd.toml", "data", "data"),
    ];
    for (path, data_dir, expected) in rows {
        let text = format!("data_dir = {data_dir:?}\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n");
        let config = Config::from_toml_str(&text, Path::new(path)).unwrap();
        assert_eq!(
            config.data_dir,
            PathBuf::from(expected),
            "{path} {data_dir}"
        );
        assert_eq!(config.socket, PathBuf::from(expected).join("scimd.sock"));
        let base = Path::new(path).parent().unwrap();
        assert_eq!(config.tls.unwrap().cert, base.join("c.pem"));
    }
}

#[test]
fn ok_rows() {
    let rows: &[(&str, &str)] = &[
        ("ipv6 listen", "listen = \"[::1]:0\""),
        ("http public url", "public_url = \"http://localhost:8080\""),
        (
            "public url with path",
            "public_url = \"https://h.example/scimd//\"",
        ),
        ("every level", "[log]\nlevel = \"trace\""),
        ("log format only", "[log]\nformat = \"json\""),
        ("inline org", "orgs = { acme = { enabled = false } }"),
        ("dotted org", "orgs.acme.display_name = \"A\""),
        (
            "39-char name",
            "[orgs.a23456789012345678901234567890123456789]",
        ),
        ("digits and hyphens", "[orgs.0-a-1]"),
        ("one char", "[orgs.x]"),
        ("team_name_max 1", "[orgs.a]\nteam_name_max = 1"),
        ("empty tokens", "[orgs.a]\ntokens = []"),
        ("empty activity table", "[activity]"),
        (
            "activity minimums",
            "[activity]\nmax_records = 1\nmax_age_days = 1",
        ),
        (
            "activity maximums",
            "activity = { max_records = 10000000, max_age_days = 3650 }",
        ),
        ("dotted activity key", "activity.max_age_days = 90"),
        ("empty limits table", "[limits]"),
        (
            "limits minimums",
            "[limits]\nmax_connections = 1\nheader_read_timeout_secs = 1\nidle_timeout_secs = 1\n\
             body_read_timeout_secs = 1\nshutdown_timeout_secs = 0\nmax_values_per_attribute = 1",
        ),
        (
            "limits maximums",
            "limits = { max_connections = 1000000, header_read_timeout_secs = 3600, \
             idle_timeout_secs = 3600, body_read_timeout_secs = 3600, \
             shutdown_timeout_secs = 3600, max_values_per_attribute = 100000 }",
        ),
        ("dotted limits key", "limits.idle_timeout_secs = 5"),
        ("rate limit alone", "[orgs.a]\nrate_limit = 1"),
        (
            "rate limit maximums",
            "[orgs.a]\nrate_limit = 1000000\nrate_burst = 10000000",
        ),
        (
            "burst below the rate",
            "orgs.a = { rate_limit = 100, rate_burst = 1 }",
        ),
    ];
    for (name, text) in rows {
        if let Err(e) = parse(text) {
            panic!("{name}: {e}");
        }
    }
}

/// Each row: the file, then the exact start of the one-line message (location and key), then a
/// fragment of the explanation.
#[test]
fn err_rows() {
    let h = hash_a();
    let rows: Vec<(&str, String, &str, &str)> = vec![
        (
            "syntax error keeps toml's message",
            "listen = \"127.0.0.1:8080\"\norgs = [\n".into(),
            "/etc/scimd/scimd.toml:3:1: ",
            "invalid array",
        ),
        (
            "unknown top-level key",
            "listen = \"127.0.0.1:8080\"\nlisten_addr = \"x\"\n".into(),
            "/etc/scimd/scimd.toml:2:1: listen_addr: ",
            "unknown field `listen_addr`",
        ),
        (
            // Found by the fuzz target: toml quotes the key raw in its message.
            "unknown key with control characters",
            "\"a\\u0080\\r\\u001b[2J\" = 1\n".into(),
            "/etc/scimd/scimd.toml:1:1: \"a\\u{80}\\r\\u{1b}[2J\": ",
            "unknown field `a\\u{80}\\r\\u{1b}[2J`",
        ),
        (
            "unknown org key (typo of tokens)",
            format!("[orgs.acme]\ntoken = [\"{h}\"]\n"),
            "/etc/scimd/scimd.toml:2:1: orgs.acme.token: ",
            "unknown field `token`",
        ),
        (
            "wrong type",
            "[orgs.acme]\nenabled = \"yes\"\n".into(),
            "/etc/scimd/scimd.toml:2:11: orgs.acme.enabled: ",
            "expected a boolean",
        ),
        (
            "tls without key",
            "[tls]\ncert = \"c.pem\"\n".into(),
            "/etc/scimd/scimd.toml:1:1: tls: ",
            "missing field `key`",
        ),
        (
            "tls as a string",
            "tls = \"on\"\n".into(),
            "/etc/scimd/scimd.toml:1:7: tls: ",
            "expected a [tls] table with cert and key",
        ),
        (
            "listen not an address",
            "\nlisten = \"localhost:8080\"\n".into(),
            "/etc/scimd/scimd.toml:2:10: listen: ",
            "expected an IP address and port",
        ),
        (
            "public url scheme",
            "public_url = \"ftp://x\"\n".into(),
            "/etc/scimd/scimd.toml:1:14: public_url: ",
            "http:// or https://",
        ),
        (
            "public url without host",
            "public_url = \"https:///\"\n".into(),
            "/etc/scimd/scimd.toml:1:14: public_url: ",
            "no host",
        ),
        (
            "public url query",
            "public_url = \"https://h/?a=b\"\n".into(),
            "/etc/scimd/scimd.toml:1:14: public_url: ",
            "query",
        ),
        (
            "empty data_dir",
            "data_dir = \"\"\n".into(),
            "/etc/scimd/scimd.toml:1:12: data_dir: ",
            "must not be empty",
        ),
        (
            "empty socket",
            "socket = \" \"\n".into(),
            "/etc/scimd/scimd.toml:1:10: socket: ",
            "must not be empty",
        ),
        (
            "log level",
            "[log]\nlevel = \"verbose\"\n".into(),
            "/etc/scimd/scimd.toml:2:9: log.level: ",
            "trace, debug, info, warn, error",
        ),
        (
            "log format",
            "[log]\nformat = \"xml\"\n".into(),
            "/etc/scimd/scimd.toml:2:10: log.format: ",
            "\"text\" or \"json\"",
        ),
        (
            "activity max_records zero",
            "[activity]\nmax_records = 0\n".into(),
            "/etc/scimd/scimd.toml:2:15: activity.max_records: ",
            "expected a number from 1 to 10000000, got 0",
        ),
        (
            "activity max_records negative",
            "[activity]\nmax_records = -1\n".into(),
            "/etc/scimd/scimd.toml:2:15: activity.max_records: ",
            "got -1",
        ),
        (
            "activity max_records too big",
            "[activity]\nmax_records = 10000001\n".into(),
            "/etc/scimd/scimd.toml:2:15: activity.max_records: ",
            "from 1 to 10000000",
        ),
        (
            "activity max_age_days zero",
            "[activity]\nmax_records = 5\nmax_age_days = 0\n".into(),
            "/etc/scimd/scimd.toml:3:16: activity.max_age_days: ",
            "expected a number from 1 to 3650, got 0",
        ),
        (
            "activity max_age_days too big",
            "activity = { max_age_days = 3651 }\n".into(),
            "/etc/scimd/scimd.toml:1:29: activity.max_age_days: ",
            "from 1 to 3650",
        ),
        (
            "activity max_age_days wrong type",
            "[activity]\nmax_age_days = \"30d\"\n".into(),
            "/etc/scimd/scimd.toml:2:16: activity.max_age_days: ",
            "expected i64",
        ),
        (
            "unknown activity key",
            "[activity]\nmax_age = 30\n".into(),
            "/etc/scimd/scimd.toml:2:1: activity.max_age: ",
            "unknown field `max_age`",
        ),
        (
            "activity as a number",
            "activity = 30\n".into(),
            "/etc/scimd/scimd.toml:1:12: activity: ",
            "expected an [activity] table",
        ),
        (
            "limits max_connections zero",
            "[limits]\nmax_connections = 0\n".into(),
            "/etc/scimd/scimd.toml:2:19: limits.max_connections: ",
            "expected a number from 1 to 1000000, got 0",
        ),
        (
            "limits max_indexed_length past what an index entry holds",
            "[limits]\nmax_indexed_length = 641\n".into(),
            "/etc/scimd/scimd.toml:2:22: limits.max_indexed_length: ",
            "from 16 to 640, got 641",
        ),
        (
            "limits max_extension_bytes past a request body",
            "[limits]\nmax_extension_bytes = 1048577\n".into(),
            "/etc/scimd/scimd.toml:2:23: limits.max_extension_bytes: ",
            "from 0 to 1048576, got 1048577",
        ),
        (
            "limits max_sorted_window zero",
            "[limits]\nmax_sorted_window = 0\n".into(),
            "/etc/scimd/scimd.toml:2:21: limits.max_sorted_window: ",
            "from 1 to 1000000, got 0",
        ),
        (
            "limits max_connections too big",
            "[limits]\nmax_connections = 1000001\n".into(),
            "/etc/scimd/scimd.toml:2:19: limits.max_connections: ",
            "from 1 to 1000000, got 1000001",
        ),
        (
            "limits header_read_timeout_secs zero",
            "[limits]\nheader_read_timeout_secs = 0\n".into(),
            "/etc/scimd/scimd.toml:2:28: limits.header_read_timeout_secs: ",
            "expected a number from 1 to 3600, got 0",
        ),
        (
            "limits idle_timeout_secs too big",
            "[limits]\nidle_timeout_secs = 3601\n".into(),
            "/etc/scimd/scimd.toml:2:21: limits.idle_timeout_secs: ",
            "from 1 to 3600, got 3601",
        ),
        (
            "limits body_read_timeout_secs negative",
            "limits = { body_read_timeout_secs = -1 }\n".into(),
            "/etc/scimd/scimd.toml:1:37: limits.body_read_timeout_secs: ",
            "from 1 to 3600, got -1",
        ),
        (
            "limits shutdown_timeout_secs negative",
            "[limits]\nshutdown_timeout_secs = -1\n".into(),
            "/etc/scimd/scimd.toml:2:25: limits.shutdown_timeout_secs: ",
            "expected a number from 0 to 3600, got -1",
        ),
        (
            "limits shutdown_timeout_secs too big",
            "[limits]\nshutdown_timeout_secs = 3601\n".into(),
            "/etc/scimd/scimd.toml:2:25: limits.shutdown_timeout_secs: ",
            "from 0 to 3600",
        ),
        (
            "limits max_values_per_attribute zero",
            "\n[limits]\nmax_values_per_attribute = 0\n".into(),
            "/etc/scimd/scimd.toml:3:28: limits.max_values_per_attribute: ",
            "expected a number from 1 to 100000, got 0",
        ),
        (
            "limits max_values_per_attribute too big",
            "limits.max_values_per_attribute = 100001\n".into(),
            "/etc/scimd/scimd.toml:1:35: limits.max_values_per_attribute: ",
            "from 1 to 100000",
        ),
        (
            "limits timeout as a duration string",
            "[limits]\nidle_timeout_secs = \"60s\"\n".into(),
            "/etc/scimd/scimd.toml:2:21: limits.idle_timeout_secs: ",
            "expected i64",
        ),
        (
            "limits timeout as a float",
            "[limits]\nidle_timeout_secs = 1.5\n".into(),
            "/etc/scimd/scimd.toml:2:21: limits.idle_timeout_secs: ",
            "expected i64",
        ),
        (
            "unknown limits key",
            "[limits]\nidle_timeout = 60\n".into(),
            "/etc/scimd/scimd.toml:2:1: limits.idle_timeout: ",
            "unknown field `idle_timeout`",
        ),
        (
            "limits as a number",
            "limits = 5\n".into(),
            "/etc/scimd/scimd.toml:1:10: limits: ",
            "expected a [limits] table",
        ),
        (
            "empty tls cert",
            "[tls]\ncert = \"\"\nkey = \"k\"\n".into(),
            "/etc/scimd/scimd.toml:2:8: tls.cert: ",
            "must not be empty",
        ),
        (
            "short hash",
            format!("[orgs.acme]\ntokens = [\"{h}\", \"sha256:abc\"]\n"),
            "/etc/scimd/scimd.toml:2:",
            "orgs.acme.tokens[1]: expected \"sha256:\" followed by 64 hex digits",
        ),
        (
            "uppercase hex",
            format!(
                "[orgs.acme]\ntokens = [{:?}]\n",
                h.to_uppercase().replace("SHA", "sha")
            ),
            "/etc/scimd/scimd.toml:2:11: orgs.acme.tokens[0]: ",
            "64 hex digits",
        ),
        (
            "plaintext token",
            "[orgs.acme]\n\ntokens = [\"scimd_abc\"]\n".into(),
            "/etc/scimd/scimd.toml:3:11: orgs.acme.tokens[0]: ",
            "plaintext token",
        ),
        (
            "team_name_max zero",
            "[orgs.acme]\nteam_name_max = 0\n".into(),
            "/etc/scimd/scimd.toml:2:17: orgs.acme.team_name_max: ",
            "from 1 to 1000",
        ),
        (
            "team_name_max negative",
            "[orgs.acme]\nteam_name_max = -5\n".into(),
            "/etc/scimd/scimd.toml:2:17: orgs.acme.team_name_max: ",
            "got -5",
        ),
        (
            "team_name_max too big",
            "[orgs.acme]\nteam_name_max = 1001\n".into(),
            "/etc/scimd/scimd.toml:2:17: orgs.acme.team_name_max: ",
            "from 1 to 1000",
        ),
        (
            "unknown_members",
            "[orgs.acme]\nunknown_members = \"drop\"\n".into(),
            "/etc/scimd/scimd.toml:2:19: orgs.acme.unknown_members: ",
            "\"skip\" or \"reject\"",
        ),
        (
            "usernames",
            "[orgs.acme]\nusernames = \"sometimes\"\n".into(),
            "/etc/scimd/scimd.toml:2:13: orgs.acme.usernames: ",
            "\"immutable\" or \"mutable\"",
        ),
        (
            "rate_limit zero",
            "[orgs.acme]\nrate_limit = 0\n".into(),
            "/etc/scimd/scimd.toml:2:14: orgs.acme.rate_limit: ",
            "expected a number from 1 to 1000000, got 0",
        ),
        (
            "rate_limit too big",
            "[orgs.acme]\nrate_limit = 1000001\n".into(),
            "/etc/scimd/scimd.toml:2:14: orgs.acme.rate_limit: ",
            "from 1 to 1000000, got 1000001",
        ),
        (
            "rate_limit beyond u32",
            "[orgs.acme]\nrate_limit = 4294967297\n".into(),
            "/etc/scimd/scimd.toml:2:14: orgs.acme.rate_limit: ",
            "got 4294967297",
        ),
        (
            "rate_limit as a string",
            "[orgs.acme]\nrate_limit = \"50/s\"\n".into(),
            "/etc/scimd/scimd.toml:2:14: orgs.acme.rate_limit: ",
            "expected i64",
        ),
        (
            "rate_burst zero",
            "[orgs.acme]\nrate_limit = 5\nrate_burst = 0\n".into(),
            "/etc/scimd/scimd.toml:3:14: orgs.acme.rate_burst: ",
            "expected a number from 1 to 10000000, got 0",
        ),
        (
            "rate_burst too big",
            "orgs.acme = { rate_limit = 5, rate_burst = 10000001 }\n".into(),
            "/etc/scimd/scimd.toml:1:44: orgs.acme.rate_burst: ",
            "from 1 to 10000000",
        ),
        (
            "rate_burst without rate_limit",
            "[orgs.acme]\nenabled = true\nrate_burst = 10\n".into(),
            "/etc/scimd/scimd.toml:3:1: orgs.acme.rate_burst: ",
            "only valid together with rate_limit",
        ),
        (
            "empty display name",
            "[orgs.acme]\ndisplay_name = \"\"\n".into(),
            "/etc/scimd/scimd.toml:2:16: orgs.acme.display_name: ",
            "must not be empty",
        ),
        (
            "org as a string",
            "orgs.acme = \"x\"\n".into(),
            "/etc/scimd/scimd.toml:1:13: orgs.acme: ",
            "invalid type: string \"x\", expected an org table",
        ),
        (
            "duplicate org by case, later one reported",
            "[orgs.acme]\n[orgs.other]\n[orgs.ACME]\n".into(),
            "/etc/scimd/scimd.toml:3:7: orgs.ACME: ",
            "duplicate of org `acme`: org names are case-insensitive",
        ),
        (
            "duplicate org by case, lowercase later",
            "[orgs.Acme]\n[orgs.acme]\n".into(),
            "/etc/scimd/scimd.toml:2:7: orgs.acme: ",
            "duplicate of org `Acme`",
        ),
    ];
    for (name, text, start, fragment) in rows {
        let err = match parse(&text) {
            Ok(_) => panic!("{name}: accepted\n{text}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with(start),
            "{name}: {err:?} should start with {start:?}"
        );
        assert!(
            err.contains(fragment),
            "{name}: {err:?} should contain {fragment:?}"
        );
        assert!(
            !err.chars().any(char::is_control),
            "{name}: one printable line: {err:?}"
        );
    }
}

#[test]
fn org_name_rules() {
    let good = [
        "a",
        "acme",
        "Acme-Corp",
        "a1-b2-c3",
        "123",
        "a23456789012345678901234567890123456789",
    ];
    for name in good {
        assert!(
            parse(&format!("[orgs.{name}]")).is_ok(),
            "{name} should be valid"
        );
    }
    let bad = [
        ("\"\"", "\"\""),
        ("-acme", "-acme"),
        ("acme-", "acme-"),
        ("ac--me", "ac--me"),
        ("ac_me", "ac_me"),
        ("\"ac.me\"", "\"ac.me\""),
        ("\"ac me\"", "\"ac me\""),
        ("\"äcme\"", "\"äcme\""),
        (
            "a234567890123456789012345678901234567890",
            "a234567890123456789012345678901234567890",
        ),
    ];
    for (written, key) in bad {
        let err = parse(&format!("\n[orgs.{written}]\n"))
            .unwrap_err()
            .to_string();
        let start = format!("/etc/scimd/scimd.toml:2:7: orgs.{key}: invalid org name");
        assert!(err.starts_with(&start), "{written}: {err}");
        assert!(err.contains("GitHub login rules"), "{written}: {err}");
    }
}

#[test]
fn errors_carry_structured_fields() {
    let err = parse("[orgs.acme]\nteam_name_max = 0\n").unwrap_err();
    match err {
        ConfigError::Invalid {
            path,
            key,
            line_col,
            message,
        } => {
            assert_eq!(path, PathBuf::from("/etc/scimd/scimd.toml"));
            assert_eq!(key, "orgs.acme.team_name_max");
            assert_eq!(line_col, Some((2, 17)));
            assert!(message.contains("from 1 to 1000"));
        }
        other => panic!("{other:?}"),
    }
    match parse("a = \n").unwrap_err() {
        ConfigError::Parse { line_col, .. } => assert_eq!(line_col, Some((1, 5))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_reads_the_file_and_reports_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimd.toml");
    let err = Config::load(&path).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(err.to_string().starts_with(&path.display().to_string()));

    std::fs::write(&path, "[orgs.acme]\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.path, path);
    assert_eq!(config.data_dir, dir.path().join("data"));

    std::fs::write(&path, b"a = \"\xff\"\n").unwrap();
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains(":1:6: ") && err.contains("UTF-8"), "{err}");
}
