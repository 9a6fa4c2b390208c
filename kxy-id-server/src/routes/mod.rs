//! One small handler per endpoint.

pub(crate) mod auth;
pub(crate) mod batch;
pub(crate) mod database;
pub(crate) mod ops;
pub(crate) mod parts;
pub(crate) mod segment;
pub(crate) mod tokens;
