//! The PATCH engine (RFC 7644 section 3.5.2): parses a PatchOp body and applies it to a resource.
