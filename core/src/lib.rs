//! The SCIM 2.0 protocol as scimd speaks it: schemas, filters, PATCH, validation and errors.
//!
//! Pure: no IO, no clock, no randomness. Time and ids come in as parameters.

pub mod error;
pub mod event;
pub mod filter;
mod json_key;
pub mod list;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod wire;

pub use error::{ScimError, ScimType};
pub use schema::ResourceType;
