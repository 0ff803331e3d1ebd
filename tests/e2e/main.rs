//! The one end-to-end test binary: the real `scimd` over HTTP, step by step as IdPs play it.

mod conformance;
#[allow(dead_code)] // helpers used by some scenarios only
mod harness;
mod smoke;
mod tls;
