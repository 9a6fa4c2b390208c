//! The one error type of this crate.

use std::fmt;

/// A specialized `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `kxy-id`.
///
/// Variants say what happened, not where: a duplicate key is
/// [`Error::AlreadyExists`] whether SQLite, Redis, MySQL or PostgreSQL noticed it.
/// Every error that is caused by the caller's input (`InvalidKey`,
/// `InvalidCount`, `InvalidValue`, `Overflow`, `InvalidIdentifier`, ...) is
/// reported *before* anything is written: the stored state is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A segment key part is empty, too long or contains control characters.
    #[error("invalid segment key: {reason}")]
    InvalidKey {
        /// Why the key was refused.
        reason: String,
    },

    /// The number of IDs asked for is outside `1..=i64::MAX`.
    #[error("invalid segment count {count}: it must be between 1 and 9223372036854775807")]
    InvalidCount {
        /// The count that was asked for.
        count: i64,
    },

    /// A counter value is outside the range counters may hold (`0..=i64::MAX`).
    #[error("invalid counter value {value}: counters hold values from 0 to 9223372036854775807")]
    InvalidValue {
        /// The value that was refused.
        value: i64,
    },

    /// No counter exists for the key.
    #[error("no counter exists for key {key}")]
    KeyNotFound {
        /// The segment key (`system:db:table:field`).
        key: String,
    },

    /// The counter (or record) exists already.
    #[error("a counter already exists for key {key}")]
    AlreadyExists {
        /// The segment key or record name.
        key: String,
    },

    /// Handing out `count` more IDs would push the counter past `i64::MAX`.
    #[error(
        "allocating {count} IDs for key {key} would overflow the counter's range (at most 9223372036854775807); nothing was allocated"
    )]
    Overflow {
        /// The segment key.
        key: String,
        /// The counter's value, which is left as it was (not in the message: it would tell an
        /// unauthenticated caller exactly how much a second request may take).
        current: i64,
        /// The count that was asked for.
        count: i64,
    },

    /// The stored counter is not an integer (for example a UUID written by the old service) or
    /// is negative.
    #[error(
        "the counter for key {key} holds {value:?}, which is not a counter (an integer from 0 to 9223372036854775807); fix or delete it"
    )]
    CorruptCounter {
        /// The segment key.
        key: String,
        /// What the store holds.
        value: String,
    },

    /// A table's key column is not of an integer type, so it cannot be seeded or allocated.
    #[error("column {column} of table {table} has type {ty}, which is not an integer type")]
    NotNumeric {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its declared type, as the database reports it.
        ty: String,
    },

    /// A database, table or column name that cannot be used safely.
    #[error("invalid identifier {name:?}: {reason}")]
    InvalidIdentifier {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// An update of a database configuration changes its type, address, port or user but
    /// sends no password: the stored one is kept only for the same server and user.
    #[error(
        "db_password is required when db_type, db_address, port or db_user changes: the stored password is only kept for the same server and user"
    )]
    PasswordRequired,

    /// A configuration is incomplete or inconsistent (bad address, unknown type, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// A value read from a database does not fit the type it must have
    /// (for example `MAX(id)` of a `BIGINT UNSIGNED` column past `i64::MAX`).
    #[error("{0}")]
    OutOfRange(String),

    /// A table or column that was asked for does not exist.
    #[error("{0}")]
    NotFound(String),

    /// Lazy initialization found no configuration for the key's system code and database.
    #[error(
        "Database configuration not found for system_code: {system_code}, db_name: {db_name}. Please add database configuration first."
    )]
    NoConfig {
        /// The system code, as the key holds it.
        system_code: String,
        /// The database name, as the key holds it.
        db_name: String,
    },

    /// A key without a counter that lazy initialization may not seed: its table does not
    /// exist, or the field is not the table's single-column integer primary key. The message
    /// is the same in every case, so that an unauthenticated caller learns nothing about which
    /// tables and columns exist or their types.
    #[error(
        "No counter and no single-column integer primary key for this table/field: {key}. An administrator can initialize the database or add the key."
    )]
    NoSource {
        /// The segment key.
        key: String,
    },

    /// Another caller holds the work this call waited for (e.g. the initialization of a key)
    /// for longer than the call may wait; retrying later is safe.
    #[error("{0}")]
    Busy(String),

    /// The store may have lost counters (a Redis that restarted, went back to an older snapshot,
    /// or failed over), and nothing durable says how far they had gone: allocation is refused
    /// rather than risking an ID handed out twice. The message names the way out.
    #[error("{0}")]
    DataLoss(String),

    /// The operation is not available (feature not compiled in, driver or client library missing).
    #[error("{0}")]
    Unsupported(String),

    /// The store or database could not be reached in time.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// What we tried to reach (host:port, URL without password, ...).
        target: String,
        /// The underlying cause, in words.
        reason: String,
    },

    /// Any other failure of a backend (I/O, protocol, SQL error, ...).
    #[error("{backend} error: {source}")]
    Backend {
        /// Which backend failed (`sqlite`, `redis`, `mysql`, ...).
        backend: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// Wraps a backend's error.
    pub fn backend<E>(backend: &'static str, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Backend {
            backend,
            source: Box::new(source),
        }
    }

    /// Wraps a message as a backend error.
    pub fn backend_msg(backend: &'static str, message: impl fmt::Display) -> Self {
        Error::Backend {
            backend,
            source: message.to_string().into(),
        }
    }

    /// `true` when the error was caused by the caller's input and nothing was changed.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidKey { .. }
                | Error::InvalidCount { .. }
                | Error::InvalidValue { .. }
                | Error::Overflow { .. }
                | Error::InvalidIdentifier { .. }
                | Error::InvalidConfig(_)
                | Error::PasswordRequired
                | Error::NotNumeric { .. }
        )
    }
}

/// Strips the password from a URL (`scheme://user:password@host/...`), for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("mysql://root:secret@h:3306/db"),
            "mysql://root:***@h:3306/db"
        );
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
