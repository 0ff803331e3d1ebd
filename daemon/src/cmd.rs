//! The longer commands of the `scimd` binary, kept out of `main.rs` so the command table
//! there stays readable: `store copy`, `webhook remove` and `webhook test`, and the counts
//! `backup` and `restore` print. Part of the binary, not the library: they use anyhow and
//! print to the terminal.

use anyhow::Context;

/// `scimd store copy`: the config's redb store into an empty PostgreSQL database.
pub(crate) fn store_copy(config: &std::path::Path, to: &str) -> anyhow::Result<()> {
    let loaded = scimd_config::Config::load(config)?;
    if !matches!(loaded.store.backend, scimd_config::StoreBackend::Redb) {
        anyhow::bail!(
            "{} already uses PostgreSQL; store copy reads a redb store",
            config.display()
        );
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        anyhow::bail!("--to must be a postgres:// URL");
    }
    let path = scimd::site::store_path(&loaded);
    if !path.exists() {
        anyhow::bail!("there is no store at {}", path.display());
    }
    let source = scimd::store::Store::open(&path).with_context(|| {
        format!(
            "opening {} (stop the daemon first: it holds the file)",
            path.display()
        )
    })?;
    let shown = scimd_config::PostgresConfig {
        url: to.to_string(),
        pool_size: 2,
    }
    .redacted_url();
    let dest = scimd::pg_url::open(to, 2)
        .with_context(|| format!("opening the PostgreSQL store {shown}"))?;
    let report = source
        .copy_into(&dest)
        .with_context(|| format!("copying {} into {shown}", path.display()))?;
    dest.close();
    source.close();
    println!(
        "Copied {} org(s): {} users, {} teams, {} memberships, {} events, {} activity records into {shown}.",
        report.orgs, report.users, report.teams, report.memberships, report.events, report.activity
    );
    println!(
        "Set [store] backend = \"postgres\" with this url (or SCIMD_DATABASE_URL) in {} and restart.",
        config.display()
    );
    Ok(())
}

/// `scimd webhook remove`: the endpoint goes from the file, comments and the rest kept.
pub(crate) fn webhook_remove(config: &std::path::Path, org: &str, url: &str) -> anyhow::Result<()> {
    // Looked up before the edit, to name what went by id and host: the URL's path or query may
    // hold the receiver's token, so it is never printed, not even when nothing matched.
    let named = scimd_config::Config::load(config)
        .ok()
        .and_then(|c| {
            let hook = c
                .org(org)?
                .webhooks
                .iter()
                .find(|h| h.matches_url(url))?
                .clone();
            Some(format!("endpoint {} ({})", hook.id(), hook.host()))
        })
        .unwrap_or_else(|| "the endpoint".to_string());
    let removed = scimd_config::remove_webhook(config, org, url)
        .with_context(|| format!("removing a webhook of org {org}"))?;
    if !removed {
        anyhow::bail!(
            "org {org} has no webhook with that URL in {}; nothing was changed",
            config.display()
        );
    }
    println!(
        "Removed {named} from org {org} in {}; the daemon stops delivering to it once it reloads.",
        config.display()
    );
    Ok(())
}

/// `scimd webhook test`: one signed ping per endpoint; fails when any endpoint did not take it.
pub(crate) fn webhook_test(config: &std::path::Path, org: &str) -> anyhow::Result<()> {
    let loaded = scimd_config::Config::load(config)?;
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let Some(results) = rt.block_on(scimd::webhooks::ping::ping(&loaded, org)) else {
        anyhow::bail!("{} has no org {org}", config.display());
    };
    if results.is_empty() {
        anyhow::bail!(
            "org {org} has no webhooks; add one with scimd webhook add --org {org} --url URL"
        );
    }
    let mut failed = 0;
    for p in &results {
        match &p.result {
            // Named by id and host: the URL's path or query may hold the receiver's token.
            Ok(status) => println!("endpoint {} ({}): ok (HTTP {status})", p.endpoint, p.host),
            Err(cause) => {
                failed += 1;
                println!("endpoint {} ({}): failed: {cause}", p.endpoint, p.host);
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} endpoint(s) did not accept the test event",
            results.len()
        );
    }
    Ok(())
}

pub(crate) fn print_counts(counts: &scimd::admin::Counts) {
    if counts.is_empty() {
        println!("  no orgs");
    }
    for (org, users, teams) in counts {
        println!("  org {org}: {users} users, {teams} teams");
    }
}
