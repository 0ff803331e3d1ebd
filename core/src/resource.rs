//! Validation and canonical form of User and Group resources, and their rendering.
