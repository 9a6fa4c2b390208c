//! One connector per configuration, reused while the configuration is unchanged: a
//! connector keeps its pool, so building one per request would reconnect every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::IdService;
use crate::config::DatabaseConfig;
use crate::connector::{DbConnector, connector_for};
use crate::error::Result;

/// A connector with the configuration it was built from.
type CachedConnector = (DatabaseConfig, Arc<dyn DbConnector>);

/// Connectors by configuration guid, with the configuration each was built from.
#[derive(Debug, Default)]
pub(crate) struct ConnectorCache(Mutex<HashMap<String, CachedConnector>>);

impl ConnectorCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedConnector>> {
        // A panic while holding the lock leaves a usable map: entries are replaced whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl IdService {
    /// The connector of a configuration, reused while the configuration is unchanged.
    pub fn connector(&self, config: &DatabaseConfig) -> Result<Arc<dyn DbConnector>> {
        let mut cache = self.connectors.lock();
        if let Some((cached, connector)) = cache.get(&config.guid)
            && same_connection(cached, config)
        {
            return Ok(connector.clone());
        }
        let connector = connector_for(config, &self.options.connector)?;
        cache.insert(config.guid.clone(), (config.clone(), connector.clone()));
        Ok(connector)
    }

    /// Drops the connector of a configuration that changed or was deleted.
    pub(super) fn forget_connector(&self, guid: &str) {
        self.connectors.lock().remove(guid);
        self.unknown.forget(guid);
    }
}

/// `true` when two configurations connect to the same place the same way.
fn same_connection(a: &DatabaseConfig, b: &DatabaseConfig) -> bool {
    a.db_type == b.db_type
        && a.db_address == b.db_address
        && a.db_user == b.db_user
        && a.db_password == b.db_password
        && a.db_name == b.db_name
}

#[cfg(test)]
impl IdService {
    /// Uses `connector` for `config` from now on (tests with a connector that counts calls).
    pub(super) fn use_connector(&self, config: &DatabaseConfig, connector: Arc<dyn DbConnector>) {
        self.connectors
            .lock()
            .insert(config.guid.clone(), (config.clone(), connector));
    }
}
