//! The check of a server that does not answer: every operation is a connect error naming
//! the server, never the password.

use crate::connector::DbConnector;
use crate::error::Error;

/// A connector to a server that does not answer fails with [`Error::Connect`] naming
/// `target`, without the password, on every operation.
pub async fn unreachable_server_is_a_connect_error(
    connector: &dyn DbConnector,
    target: &str,
    password: &str,
) {
    let results = [
        connector.list_databases().await.map(|_| ()),
        connector.list_tables("db").await.map(|_| ()),
        connector.max_value("db", "t", "id").await.map(|_| ()),
    ];
    for result in results {
        let err = result.expect_err("nothing listens there");
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{msg}");
        assert!(msg.contains(target), "{msg}");
        assert!(!msg.contains(password), "{msg}");
    }
    assert!(!format!("{connector:?}").contains(password));
}

/// Where [`silent_server_is_a_connect_error`] connects: port 1, where nothing listens.
#[cfg(test)]
const SILENT_SERVER: &str = "127.0.0.1:1";

/// The password of [`silent_server_is_a_connect_error`]'s configuration, which no message
/// may show.
#[cfg(test)]
const SILENT_PASSWORD: &str = "pw-secret";

/// Builds the `db_type` connector (as [`connector_for`](crate::connector_for) does) for a
/// server that does not answer (giving up after 2 s) and runs
/// [`unreachable_server_is_a_connect_error`] on it.
#[cfg(test)]
pub(crate) async fn silent_server_is_a_connect_error(db_type: crate::config::DbType) {
    let config = super::config(db_type, SILENT_SERVER, "u", SILENT_PASSWORD, None);
    let options = crate::ConnectorOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        ..crate::ConnectorOptions::default()
    };
    let connector =
        crate::connector_for(&config, &options).expect("a connector for a valid configuration");
    unreachable_server_is_a_connect_error(&*connector, SILENT_SERVER, SILENT_PASSWORD).await;
}
