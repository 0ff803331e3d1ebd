//! The tenant isolation part of the report: its rows, its table, and its targets (issue 8's
//! added latency of another org's write, issue 19's Bulk and non-unique lookup cases).

use super::*;

/// One round of the isolation scenario: org `bench`'s single client beside a noisy load.
pub struct IsoRow {
    pub key: String,
    /// The noisy load.
    pub label: String,
    /// What `bench`'s client sends: `POST` (a new user, durable) or `GET` (a user by id).
    pub measured: &'static str,
    pub noisy_clients: usize,
    pub bench: Stats,
    /// `None` for the rounds without a noisy load.
    pub noisy: Option<Stats>,
    pub rss_after: u64,
}

/// The isolation scenario.
pub struct IsolationResult {
    /// Users seeded into `bench` and `noisy`.
    pub users: usize,
    pub noisy_users: usize,
    /// Users of `noisy` that share one `externalId`.
    pub crowd: usize,
    /// The first row of each measured request is `bench` alone, the baseline of the added
    /// latencies of the rows measuring the same request.
    pub rows: Vec<IsoRow>,
    pub mem_end: Memory,
}

impl IsolationResult {
    /// `bench` alone, sending what `r` measures.
    fn baseline(&self, r: &IsoRow) -> Option<&Stats> {
        self.rows
            .iter()
            .find(|b| b.noisy.is_none() && b.measured == r.measured)
            .map(|b| &b.bench)
    }

    /// The added p50 and p99 of a loaded row.
    fn added(&self, r: &IsoRow) -> Option<(f64, f64)> {
        let base = self.baseline(r)?;
        Some((r.bench.p50() - base.p50(), r.bench.p99() - base.p99()))
    }

    /// The loaded POST round (of one noisy client when `one`) with the highest added p99,
    /// and its added p50 and p99.
    fn worst(&self, one: bool) -> Option<(&IsoRow, f64, f64)> {
        self.rows
            .iter()
            .filter(|r| r.noisy.is_some() && r.measured == "POST")
            .filter(|r| !one || r.noisy_clients == 1)
            .filter_map(|r| self.added(r).map(|(p50, p99)| (r, p50, p99)))
            .max_by(|a, b| a.2.total_cmp(&b.2))
    }

    fn row(&self, key: &str) -> Option<&IsoRow> {
        self.rows.iter().find(|r| r.key == key)
    }
}

pub(super) fn isolation_targets(out: &mut Vec<Target>, iso: &IsolationResult) {
    for one in [true, false] {
        let Some((r, p50, p99)) = iso.worst(one) else {
            continue;
        };
        out.push(Target {
            what: format!(
                "added latency of org `bench`'s POST (1 client) beside org `noisy`'s worst load{} \
                 ({}, {} noisy client{})",
                if one { " of one client" } else { "" },
                r.label,
                r.noisy_clients,
                if r.noisy_clients == 1 { "" } else { "s" },
            ),
            measured: format!("p50 {} ms, p99 {} ms", delta_ms(p50), delta_ms(p99)),
            goal: "a few ms (our reading: p99 ≤ +5 ms)".into(),
            met: Some(p99 <= 5.0),
        });
    }
    if let Some((r, (p50, _))) = iso.row("bulk_1").and_then(|r| Some((r, iso.added(r)?))) {
        out.push(Target {
            what: format!(
                "issue 19: added p50 of org `bench`'s durable POST while one client of org \
                 `noisy` sends {}",
                r.label
            ),
            measured: format!("p50 {} ms", delta_ms(p50)),
            goal: "≤ +5 ms (redb)".into(),
            met: Some(p50 <= 5.0),
        });
    }
    if let Some((r, (_, p99))) = iso
        .row("external_id_8")
        .and_then(|r| Some((r, iso.added(r)?)))
    {
        out.push(Target {
            what: format!(
                "issue 19: added p99 of org `bench`'s GET by id while {} clients of org `noisy` \
                 send {}",
                r.noisy_clients, r.label
            ),
            measured: format!("p99 {} ms", delta_ms(p99)),
            goal: "≤ +20 ms".into(),
            met: Some(p99 <= 20.0),
        });
    }
}

pub(super) fn render_isolation(o: &mut String, iso: &IsolationResult) {
    let _ = writeln!(o, "\n### Tenant isolation\n");
    let _ = writeln!(
        o,
        "Org `bench` ({} users) sends from one client, for the scenario time, either POSTs of \
         new users (each answer durable) or GETs of a user by id, alone and while clients of \
         org `noisy` ({} users, {} of them sharing one `externalId`) send the load named; \
         added = `bench` latency under the load minus `bench` alone sending the same request. \
         Daemon peak RSS (VmHWM) at the end: {}.\n",
        count(iso.users as u64),
        count(iso.noisy_users as u64),
        count(iso.crowd as u64),
        mib(iso.mem_end.hwm),
    );
    let _ = writeln!(
        o,
        "| load on org `noisy` | noisy clients | noisy requests | noisy errors | noisy req/s | \
         noisy p50 ms | noisy p99 ms | `bench` sends | `bench` requests | `bench` errors | \
         `bench` p50 ms | `bench` p99 ms | `bench` max ms | added p50 ms | added p99 ms | \
         daemon RSS after, MiB |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in &iso.rows {
        let b = &r.bench;
        let (n_ok, n_err, n_rps, n_p50, n_p99) = match &r.noisy {
            Some(n) => (
                count(n.ok),
                n.errors.to_string(),
                format!("{:.1}", n.rps()),
                ms(n.p50()),
                ms(n.p99()),
            ),
            None => ("–".into(), "–".into(), "–".into(), "–".into(), "–".into()),
        };
        let (added50, added99) = match iso.added(r).filter(|_| r.noisy.is_some()) {
            Some((p50, p99)) => (delta_ms(p50), delta_ms(p99)),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {n_ok} | {n_err} | {n_rps} | {n_p50} | {n_p99} | {} | {} | {} | {} | {} \
             | {} | {added50} | {added99} | {} |",
            r.label,
            if r.noisy.is_some() {
                r.noisy_clients.to_string()
            } else {
                "–".into()
            },
            r.measured,
            count(b.ok),
            b.errors,
            ms(b.p50()),
            ms(b.p99()),
            ms(b.max_ms()),
            r.rss_after >> 20,
        );
    }
}
