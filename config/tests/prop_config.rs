//! Property tests and the fuzz target of the config parser: arbitrary text and grammar-aware junk
//! never panic and always fail with one line that names the file and points into it; generated
//! valid configs parse to exactly the values generated.
//!
//! `cargo test` runs every property with proptest's default case count. With `SCIMD_FUZZ_SECS=N`
//! set, `fuzz_config_parser` keeps generating cases until N seconds have passed, reporting on
//! stderr as it goes:
//!
//! ```sh
//! SCIMD_FUZZ_SECS=600 cargo test -p scimd-config --release --test prop_config -- fuzz
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use scimd_config::{Config, ConfigError, LimitsConfig, RateLimit, UnknownMembers};

mod common;

use common::{basic_string, check_any, PATH};

/// Every key the parser knows, at any depth, so junk hits real keys with wrong types.
const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "socket",
    "log",
    "level",
    "format",
    "tls",
    "cert",
    "key",
    "activity",
    "max_records",
    "max_age_days",
    "limits",
    "max_connections",
    "header_read_timeout_secs",
    "idle_timeout_secs",
    "body_read_timeout_secs",
    "shutdown_timeout_secs",
    "max_values_per_attribute",
    "max_indexed_length",
    "max_string_length",
    "max_extension_bytes",
    "max_sorted_window",
    "max_connections_per_ip",
    "store",
    "backend",
    "url",
    "pool_size",
    "orgs",
    "display_name",
    "tokens",
    "enabled",
    "team_name_max",
    "unknown_members",
    "rate_limit",
    "rate_burst",
    "webhooks",
    "secret",
    "events",
    "retry_hours",
    "connect_timeout_secs",
    "timeout_secs",
];

/// Org names good, bad and duplicated by case.
const ORG_NAMES: &[&str] = &[
    "acme",
    "ACME",
    "Acme",
    "a",
    "0",
    "-acme",
    "acme-",
    "ac--me",
    "ac_me",
    "a23456789012345678901234567890123456789",
    "a234567890123456789012345678901234567890",
];

/// Values at and past every bound, the integer forms TOML allows, and other types.
const SCALARS: &[&str] = &[
    "0",
    "1",
    "-1",
    "+1",
    "-0",
    "100",
    "1000",
    "1001",
    "3600",
    "3601",
    "3650",
    "3651",
    "100000",
    "100001",
    "1000000",
    "1000001",
    "10000000",
    "10000001",
    "256",
    "257",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "99999999999999999999999999",
    "0x10",
    "0o17",
    "0b101",
    "1_000",
    "1__0",
    "1.5",
    "1e3",
    "-0.0",
    "inf",
    "-inf",
    "nan",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "\"\"",
    "\" \"",
    "\"127.0.0.1:8080\"",
    "\"[::1]:0\"",
    "\"localhost:80\"",
    "\"https://scim.example.com/\"",
    "\"ftp://x\"",
    "\"https://u@h\"",
    "\"http://[::1]:0/\"",
    "\"https://[\"",
    "\"https://1.2.3\"",
    "\"http://h:65536?\"",
    "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
    "\"whsec_\"",
    "\"user.created\"",
    "\"skip\"",
    "\"reject\"",
    "\"json\"",
    "\"text\"",
    "\"trace\"",
    "\"redb\"",
    "\"postgres\"",
    "\"postgres://u:p@h/db\"",
    "\"mysql://h\"",
    "\"scimd_abc\"",
    "\"sha256:\"",
    "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\"\\U0010FFFF\"",
    "\"\\x41\"",
    "'literal'",
    "'''multi\nline'''",
    "\"\"\"multi\nline\"\"\"",
    "[]",
    "{}",
    "[[]]",
    "[{}]",
];

/// Whole lines that start or reopen the real tables.
const HEADERS: &[&str] = &[
    "[log]",
    "[tls]",
    "[activity]",
    "[limits]",
    "[store]",
    "[orgs]",
    "[orgs.acme]",
    "[orgs.ACME]",
    "[orgs.\"a b\"]",
    "[[orgs]]",
    "[[orgs.acme.tokens]]",
    "[webhooks]",
    "[[orgs.acme.webhooks]]",
    "[orgs.acme.webhooks]",
    "[limits.max_connections]",
];

/// Keys: mostly real ones and org names; with `raw`, also text no TOML key can be.
fn key(raw: bool) -> BoxedStrategy<String> {
    let wellformed = prop_oneof![
        8 => select(KEYS).prop_map(String::from),
        3 => select(ORG_NAMES).prop_map(String::from),
        1 => "[A-Za-z0-9_-]{1,12}",
        1 => any::<String>().prop_map(|s| basic_string(&s)),
        1 => "[^'\n\r\u{0}-\u{8}\u{b}-\u{1f}\u{7f}]{0,8}".prop_map(|s| format!("'{s}'")),
    ];
    if raw {
        // Raw junk where a key belongs, unicode included.
        prop_oneof![12 => wellformed, 1 => "\\PC{0,4}"].boxed()
    } else {
        wellformed.boxed()
    }
}

fn dotted_key(raw: bool) -> impl Strategy<Value = String> {
    prop::collection::vec(key(raw), 1..4).prop_map(|keys| keys.join("."))
}

fn scalar(raw: bool) -> BoxedStrategy<String> {
    let wellformed = prop_oneof![
        6 => select(SCALARS).prop_map(String::from),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
        2 => any::<String>().prop_map(|s| basic_string(&s)),
    ];
    if raw {
        // Unescaped: often not valid TOML at all.
        prop_oneof![10 => wellformed, 1 => any::<String>().prop_map(|s| format!("\"{s}\""))].boxed()
    } else {
        wellformed.boxed()
    }
}

/// Scalars, arrays and inline tables, nested a few levels.
fn value(raw: bool) -> impl Strategy<Value = String> {
    scalar(raw).prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((dotted_key(raw), inner), 0..5).prop_map(|kv| {
                let pairs: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

fn line(raw: bool) -> BoxedStrategy<String> {
    let wellformed = prop_oneof![
        8 => (dotted_key(raw), value(raw)).prop_map(|(k, v)| format!("{k} = {v}")),
        3 => select(HEADERS).prop_map(String::from),
        2 => dotted_key(raw).prop_map(|k| format!("[{k}]")),
        1 => dotted_key(raw).prop_map(|k| format!("[[{k}]]")),
        1 => "# [^\n\r\u{0}-\u{8}\u{b}-\u{1f}\u{7f}]{0,10}",
        1 => Just(String::new()),
    ];
    if raw {
        // Anything at all, unicode and control characters included.
        prop_oneof![16 => wellformed, 1 => ".{0,16}"].boxed()
    } else {
        wellformed.boxed()
    }
}

/// TOML-shaped junk: lines of real and made-up keys, tables and values, often repeated. Half
/// the documents are short and free of raw junk, so that many get past the TOML syntax check
/// (duplicates and redefined tables still stop some) and into validation.
fn junk_document() -> impl Strategy<Value = String> {
    let lines = prop_oneof![
        prop::collection::vec(line(false), 0..8),
        prop::collection::vec(line(true), 0..24),
    ];
    (lines, select(&["\n", "\r\n", "\n\n"][..])).prop_map(|(lines, newline)| lines.join(newline))
}

/// A valid config with one edit: a character dropped, added or replaced, or a line repeated,
/// dropped or cut short. Near-misses of real files are where the validator's paths run.
fn mutated_valid() -> impl Strategy<Value = String> {
    (
        valid_config(),
        0..5u8,
        any::<prop::sample::Index>(),
        any::<char>(),
    )
        .prop_map(|(config, edit, at, c)| {
            let text = config.render();
            let chars: Vec<char> = text.chars().collect();
            let lines: Vec<&str> = text.lines().collect();
            match edit {
                0 if !chars.is_empty() => {
                    let i = at.index(chars.len());
                    chars[..i].iter().chain(&chars[i + 1..]).collect()
                }
                1 => {
                    let i = at.index(chars.len() + 1);
                    let mut out: String = chars[..i].iter().collect();
                    out.push(c);
                    out.extend(&chars[i..]);
                    out
                }
                2 if !chars.is_empty() => {
                    let mut chars = chars;
                    let i = at.index(chars.len());
                    chars[i] = c;
                    chars.into_iter().collect()
                }
                3 if !lines.is_empty() => {
                    let i = at.index(lines.len());
                    let mut lines = lines;
                    lines.insert(i, lines[i]);
                    lines.join("\n")
                }
                _ => {
                    let i = at.index(chars.len() + 1);
                    chars[..i].iter().collect()
                }
            }
        })
}

/// Everything the fuzz target feeds the parser.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        4 => junk_document(),
        3 => mutated_valid(),
    ]
}

#[derive(Clone, Debug)]
struct GenOrg {
    /// As written in the file; unique among the orgs in any case.
    written: String,
    display_name: Option<String>,
    tokens: Vec<[u8; 32]>,
    enabled: Option<bool>,
    team_name_max: Option<usize>,
    reject_unknown_members: Option<bool>,
    rate: Option<(u32, Option<u32>)>,
    /// How the table is written: `[orgs.x]`, `orgs.x = { ... }` or `orgs.x.key = ...` lines.
    layout: u8,
}

/// `max_indexed_length`, `max_string_length`, `max_sorted_window`, `max_connections_per_ip`
/// and `max_extension_bytes`, each written or left out.
type Bounds = (
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
);

#[derive(Clone, Debug)]
struct GenConfig {
    max_connections: Option<usize>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    max_values_per_attribute: Option<usize>,
    /// The string, sort, per-address and extension limits.
    bounds: Bounds,
    inline_limits: bool,
    max_records: Option<u64>,
    max_age_days: Option<u64>,
    orgs: Vec<GenOrg>,
}

impl GenOrg {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(name) = &self.display_name {
            pairs.push(("display_name", basic_string(name)));
        }
        if !self.tokens.is_empty() || self.layout == 0 {
            let hashes: Vec<String> = self
                .tokens
                .iter()
                .map(|t| format!("\"sha256:{}\"", hex::encode(t)))
                .collect();
            pairs.push(("tokens", format!("[{}]", hashes.join(", "))));
        }
        if let Some(enabled) = self.enabled {
            pairs.push(("enabled", enabled.to_string()));
        }
        if let Some(n) = self.team_name_max {
            pairs.push(("team_name_max", n.to_string()));
        }
        if let Some(reject) = self.reject_unknown_members {
            let value = if reject { "\"reject\"" } else { "\"skip\"" };
            pairs.push(("unknown_members", value.to_owned()));
        }
        if let Some((per_second, burst)) = self.rate {
            pairs.push(("rate_limit", per_second.to_string()));
            if let Some(burst) = burst {
                pairs.push(("rate_burst", burst.to_string()));
            }
        }
        pairs
    }
}

impl GenConfig {
    /// The file: root keys (dotted and inline orgs, inline limits) first, since a key after a
    /// table header belongs to that table; then the tables.
    fn render(&self) -> String {
        let mut root = String::new();
        let mut tables = String::new();
        let text = |n: Option<u64>| n.map(|n| n.to_string());
        let limits: Vec<(&str, String)> = [
            (
                "max_connections",
                self.max_connections.map(|n| n.to_string()),
            ),
            (
                "header_read_timeout_secs",
                text(self.header_read_timeout_secs),
            ),
            ("idle_timeout_secs", text(self.idle_timeout_secs)),
            ("body_read_timeout_secs", text(self.body_read_timeout_secs)),
            ("shutdown_timeout_secs", text(self.shutdown_timeout_secs)),
            (
                "max_values_per_attribute",
                self.max_values_per_attribute.map(|n| n.to_string()),
            ),
            ("max_indexed_length", self.bounds.0.map(|n| n.to_string())),
            ("max_string_length", self.bounds.1.map(|n| n.to_string())),
            ("max_sorted_window", self.bounds.2.map(|n| n.to_string())),
            (
                "max_connections_per_ip",
                self.bounds.3.map(|n| n.to_string()),
            ),
            ("max_extension_bytes", self.bounds.4.map(|n| n.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        if self.inline_limits {
            let pairs: Vec<String> = limits.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = writeln!(root, "limits = {{ {} }}", pairs.join(", "));
        } else {
            tables.push_str("[limits]\n");
            for (k, v) in &limits {
                let _ = writeln!(tables, "{k} = {v}");
            }
        }
        if self.max_records.is_some() || self.max_age_days.is_some() {
            tables.push_str("[activity]\n");
            if let Some(n) = self.max_records {
                let _ = writeln!(tables, "max_records = {n}");
            }
            if let Some(n) = self.max_age_days {
                let _ = writeln!(tables, "max_age_days = {n}");
            }
        }
        for org in &self.orgs {
            let name = &org.written;
            let pairs = org.pairs();
            match org.layout {
                0 => {
                    let _ = writeln!(tables, "[orgs.{name}]");
                    for (k, v) in &pairs {
                        let _ = writeln!(tables, "{k} = {v}");
                    }
                }
                1 => {
                    let pairs: Vec<String> =
                        pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    let _ = writeln!(root, "orgs.{name} = {{ {} }}", pairs.join(", "));
                }
                _ => {
                    // With no key at all, a dotted line cannot name the org: write it inline.
                    if pairs.is_empty() {
                        let _ = writeln!(root, "orgs.{name} = {{}}");
                    }
                    for (k, v) in &pairs {
                        let _ = writeln!(root, "orgs.{name}.{k} = {v}");
                    }
                }
            }
        }
        root + &tables
    }
}

fn org_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9]{1,4}(-[a-zA-Z0-9]{1,4}){0,3}",
        1 => "[a-zA-Z0-9]{39}",
    ]
}

fn gen_org() -> impl Strategy<Value = GenOrg> {
    (
        (
            org_name(),
            prop::option::of(any::<String>().prop_filter("blank", |s| !s.trim().is_empty())),
            prop::collection::vec(any::<[u8; 32]>(), 0..3),
            prop::option::of(any::<bool>()),
        ),
        (
            prop::option::of(1..=1000usize),
            prop::option::of(any::<bool>()),
            prop::option::of((1..=1_000_000u32, prop::option::of(1..=10_000_000u32))),
            0..3u8,
        ),
    )
        .prop_map(
            |(
                (written, display_name, tokens, enabled),
                (team_name_max, reject_unknown_members, rate, layout),
            )| GenOrg {
                written,
                display_name,
                tokens,
                enabled,
                team_name_max,
                reject_unknown_members,
                rate,
                layout,
            },
        )
}

fn valid_config() -> impl Strategy<Value = GenConfig> {
    (
        (
            prop::option::of(1..=1_000_000usize),
            prop::option::of(1..=3600u64),
            prop::option::of(1..=3600u64),
            prop::option::of(1..=3600u64),
            prop::option::of(0..=3600u64),
            prop::option::of(1..=100_000usize),
        ),
        (
            any::<bool>(),
            prop::option::of(1..=10_000_000u64),
            prop::option::of(1..=3650u64),
            prop::collection::vec(gen_org(), 0..5),
        ),
        (
            prop::option::of(16..=640usize),
            prop::option::of(16..=1_048_576usize),
            prop::option::of(1..=1_000_000usize),
            prop::option::of(0..=1_000_000usize),
            prop::option::of(0..=1_048_576usize),
        ),
    )
        .prop_map(
            |(limits, (inline_limits, max_records, max_age_days, orgs), bounds)| {
                // Org names are case-insensitive: keep the first spelling of each.
                let mut seen = BTreeSet::new();
                let orgs = orgs
                    .into_iter()
                    .filter(|org| seen.insert(org.written.to_ascii_lowercase()))
                    .collect();
                let (max_connections, header, idle, body, shutdown, max_values) = limits;
                GenConfig {
                    max_connections,
                    header_read_timeout_secs: header,
                    idle_timeout_secs: idle,
                    body_read_timeout_secs: body,
                    shutdown_timeout_secs: shutdown,
                    max_values_per_attribute: max_values,
                    bounds,
                    inline_limits,
                    max_records,
                    max_age_days,
                    orgs,
                }
            },
        )
}

/// The generated values, read back through the parser.
fn check_valid(generated: &GenConfig) -> Result<(), TestCaseError> {
    let text = generated.render();
    let config = match Config::from_toml_str(&text, Path::new(PATH)) {
        Ok(config) => config,
        Err(err) => return Err(TestCaseError::fail(format!("{err}\n{text}"))),
    };
    let defaults = LimitsConfig::default();
    let secs = |n: Option<u64>, default: Duration| n.map_or(default, Duration::from_secs);
    let expected = LimitsConfig {
        max_connections: generated
            .max_connections
            .unwrap_or(defaults.max_connections),
        header_read_timeout: secs(
            generated.header_read_timeout_secs,
            defaults.header_read_timeout,
        ),
        idle_timeout: secs(generated.idle_timeout_secs, defaults.idle_timeout),
        body_read_timeout: secs(generated.body_read_timeout_secs, defaults.body_read_timeout),
        shutdown_timeout: secs(generated.shutdown_timeout_secs, defaults.shutdown_timeout),
        max_values_per_attribute: generated
            .max_values_per_attribute
            .unwrap_or(defaults.max_values_per_attribute),
        max_indexed_length: generated.bounds.0.unwrap_or(defaults.max_indexed_length),
        max_string_length: generated.bounds.1.unwrap_or(defaults.max_string_length),
        max_sorted_window: generated.bounds.2.unwrap_or(defaults.max_sorted_window),
        max_connections_per_ip: generated
            .bounds
            .3
            .unwrap_or(defaults.max_connections_per_ip),
        max_extension_bytes: generated.bounds.4.unwrap_or(defaults.max_extension_bytes),
    };
    prop_assert_eq!(config.limits, expected);
    prop_assert_eq!(
        config.activity.max_records,
        generated.max_records.unwrap_or(10_000)
    );
    prop_assert_eq!(
        config.activity.max_age,
        Duration::from_secs(generated.max_age_days.unwrap_or(30) * 24 * 3600)
    );
    prop_assert_eq!(config.orgs.len(), generated.orgs.len());
    for org in &generated.orgs {
        let name = org.written.to_ascii_lowercase();
        let Some(parsed) = config.orgs.get(&name) else {
            return Err(TestCaseError::fail(format!("org {name} missing\n{text}")));
        };
        prop_assert_eq!(&parsed.name, &name);
        prop_assert_eq!(
            &parsed.display_name,
            org.display_name.as_ref().unwrap_or(&org.written)
        );
        prop_assert_eq!(&parsed.tokens, &org.tokens);
        prop_assert_eq!(parsed.enabled, org.enabled.unwrap_or(true));
        prop_assert_eq!(parsed.team_name_max, org.team_name_max.unwrap_or(100));
        let unknown = match org.reject_unknown_members {
            Some(true) => UnknownMembers::Reject,
            _ => UnknownMembers::Skip,
        };
        prop_assert_eq!(parsed.unknown_members, unknown);
        let rate = org.rate.map(|(per_second, burst)| RateLimit {
            per_second,
            burst: burst.unwrap_or(per_second),
        });
        prop_assert_eq!(parsed.rate_limit, rate);
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check_any(&text)?;
    }

    #[test]
    fn junk_toml_never_panics(text in junk_document()) {
        check_any(&text)?;
    }

    #[test]
    fn near_misses_of_valid_configs_never_panic(text in mutated_valid()) {
        check_any(&text)?;
    }

    #[test]
    fn valid_configs_parse_to_the_values_generated(config in valid_config()) {
        check_valid(&config)?;
    }
}

/// Inputs the fuzz target once failed on, each after its fix.
const REGRESSIONS: &[&str] = &[
    // toml quoted the unknown key raw in its message: a C1 control in the error line.
    "['\u{80}']",
];

#[test]
fn fuzz_regressions() {
    for text in REGRESSIONS {
        if let Err(e) = check_any(text) {
            panic!("{text:?}: {e}");
        }
    }
}

/// The fuzz target: the default case count, or with `SCIMD_FUZZ_SECS=N` new cases for N seconds.
#[test]
fn fuzz_config_parser() {
    let budget = match std::env::var("SCIMD_FUZZ_SECS") {
        Err(_) => None,
        Ok(secs) => match secs.parse() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(e) => panic!("SCIMD_FUZZ_SECS={secs:?}: {e}"),
        },
    };
    let config = RunnerConfig {
        // Failures are printed with their shrunk input, to become a regression test by hand.
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new(config.clone());
    let Some(budget) = budget else {
        if let Err(e) = runner.run(&any_text(), |text| check_any(&text)) {
            panic!("{e}");
        }
        return;
    };

    let strategy = any_text();
    let start = Instant::now();
    let mut report_at = start;
    let mut tally = Tally::default();
    while start.elapsed() < budget {
        let tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(e) => panic!("generating a case: {e}"),
        };
        tally.count(&tree.current());
        if let Err(e) = runner.run_one(tree, |text| check_any(&text)) {
            panic!("after {} cases: {e}", tally.cases);
        }
        if report_at.elapsed() >= Duration::from_secs(60) {
            report_at = Instant::now();
            tally.report("so far", start.elapsed());
        }
    }
    tally.report("done", start.elapsed());
}

/// What the fuzz cases came to, to show the generators reach past the TOML syntax check.
#[derive(Default)]
struct Tally {
    cases: u64,
    valid: u64,
    syntax_errors: u64,
    invalid: u64,
}

impl Tally {
    fn count(&mut self, text: &str) {
        self.cases += 1;
        match Config::from_toml_str(text, Path::new(PATH)) {
            Ok(_) => self.valid += 1,
            Err(ConfigError::Parse { .. }) => self.syntax_errors += 1,
            Err(_) => self.invalid += 1,
        }
    }

    /// Straight to stderr: the test harness captures `eprintln!` of passing tests, and a long
    /// run should show it is alive.
    fn report(&self, stage: &str, elapsed: Duration) {
        let line = format!(
            "fuzz_config_parser {stage}: {} cases in {:.0?} ({} valid, {} TOML syntax errors, \
             {} rejected by validation), no failure\n",
            self.cases, elapsed, self.valid, self.syntax_errors, self.invalid
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
