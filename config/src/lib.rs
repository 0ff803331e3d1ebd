//! scimd's org config file: parse and validate it, edit its tokens, and watch it for live reload.
