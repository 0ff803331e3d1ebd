//! Holds no code: the end-to-end tests live in `e2e/` as one test binary.
