//! [`DbServer`]: which server a connector reads, the one piece of identity every connector
//! holds, so that [`DbConnector::db_type`](super::DbConnector::db_type) and
//! [`DbConnector::target`](super::DbConnector::target) are written once, in the trait.

use crate::config::{DatabaseConfig, DbType, Endpoint};
use crate::error::Result;

/// The server a connector reads: which kind of database it is and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbServer {
    /// The kind of database; a connector reads one kind only, whatever the configuration says.
    pub db_type: DbType,
    /// The host and port from the configuration's `db_address`.
    pub endpoint: Endpoint,
}

impl DbServer {
    /// The server of `config` as a connector for `db_type` reads it.
    ///
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a bad `db_address`.
    pub(crate) fn new(db_type: DbType, config: &DatabaseConfig) -> Result<DbServer> {
        Ok(DbServer {
            db_type,
            endpoint: config.endpoint()?,
        })
    }
}
