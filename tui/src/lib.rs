//! The live provisioning dashboard (`scimd tui`).
