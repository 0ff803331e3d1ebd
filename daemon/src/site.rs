//! Where an install's things are, for every part that names them: the store file inside
//! `data_dir`, and the absolute base URL of an org's SCIM API (`public_url` when set, else the
//! address the caller knows the server by).

use std::path::PathBuf;

use scimd_config::Config;

/// The store file inside `data_dir`.
pub fn store_path(config: &Config) -> PathBuf {
    config.data_dir.join("scimd.redb")
}

/// The SCIM base URL of `org`: under `public_url` when the config sets one, else
/// `scheme://host` (the request's `Host`, or the bound address where there is no request).
pub fn base_url(config: &Config, scheme: &str, host: &str, org: &str) -> String {
    match &config.public_url {
        Some(url) => format!("{url}/scim/v2/{org}"),
        None => format!("{scheme}://{host}/scim/v2/{org}"),
    }
}
