//! The one end-to-end test binary: the real `scimd` over HTTP, step by step as IdPs play it.

mod abuse;
mod bulk;
mod conformance;
mod crash;
mod cursor;
mod dashboard;
mod diskfull;
mod edge;
mod entra;
mod errors;
mod harness;
mod heavy;
mod isolation;
mod lists;
mod load;
mod okta;
mod paging;
mod permissions;
mod persistence;
mod races;
mod reload;
mod reload_hardening;
mod shutdown;
mod smoke;
mod tls;
mod usernames;
