//! Database configurations: add, update, delete, list, and which one seeds a key.
//!
//! Stored in the metadata store as JSON, one entry per guid, with the password sealed by the
//! service's [`SecretBox`](crate::SecretBox): a dump of the store does not reveal it.

use serde::{Deserialize, Serialize};

use super::IdService;
use super::discovery::discovered_name;
use crate::config::DatabaseConfig;
use crate::error::{Error, Result};
use crate::key::SegmentKey;
use crate::store::meta::names;

/// What a client sends to add or update a database configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseInput {
    /// The system code (first part of every key).
    pub system_code: String,
    /// `mysql`, `postgresql`, `sqlserver` or `oracle`.
    pub db_type: crate::config::DbType,
    /// `host[:port]`.
    pub db_address: String,
    /// The user name.
    pub db_user: String,
    /// The password; on update, empty keeps the stored one.
    pub db_password: String,
    /// The database to scan (optional).
    pub db_name: Option<String>,
}

/// The metadata entry of a configuration.
fn config_name(guid: &str) -> String {
    format!("{}{guid}", names::DB_CONFIG_PREFIX)
}

/// Whether `input` names the server and user `old` connects to (type, host, port, user).
fn same_server_and_user(old: &DatabaseConfig, input: &DatabaseInput) -> bool {
    let new_endpoint =
        crate::config::Endpoint::parse(&input.db_address, input.db_type.default_port());
    let same_endpoint = match (old.endpoint(), new_endpoint) {
        (Ok(a), Ok(b)) => a.host.eq_ignore_ascii_case(&b.host) && a.port == b.port,
        _ => false,
    };
    old.db_type == input.db_type && same_endpoint && old.db_user == input.db_user
}

/// The error for a guid without a configuration.
fn not_found(guid: &str) -> Error {
    Error::NotFound(format!("Database config with guid {guid} not found"))
}

impl IdService {
    /// Every configuration (passwords decrypted), sorted by system code, database and guid.
    pub async fn list_databases(&self) -> Result<Vec<DatabaseConfig>> {
        let mut out = Vec::new();
        for (name, json) in self.meta.scan(names::DB_CONFIG_PREFIX).await? {
            match self.decode(&json) {
                Ok(config) => out.push(config),
                Err(e) => {
                    tracing::warn!(name, error = %e, "skipping an unreadable database configuration")
                }
            }
        }
        out.sort_by(|a, b| {
            (a.system_code.to_lowercase(), a.db_name.clone(), &a.guid).cmp(&(
                b.system_code.to_lowercase(),
                b.db_name.clone(),
                &b.guid,
            ))
        });
        Ok(out)
    }

    /// One configuration (password decrypted).
    pub async fn get_database(&self, guid: &str) -> Result<DatabaseConfig> {
        let json = self
            .meta
            .get(&config_name(guid))
            .await?
            .ok_or_else(|| not_found(guid))?;
        self.decode(&json)
    }

    /// Reads a stored configuration, opening its sealed password.
    fn decode(&self, json: &str) -> Result<DatabaseConfig> {
        let mut config: DatabaseConfig = serde_json::from_str(json).map_err(|e| {
            Error::InvalidConfig(format!(
                "a stored database configuration is not valid JSON: {e}"
            ))
        })?;
        config.db_password = self.secrets.open(&config.db_password)?;
        Ok(config)
    }

    /// Stores a configuration with its password sealed.
    async fn store(&self, config: &DatabaseConfig) -> Result<()> {
        let mut sealed = config.clone();
        sealed.db_password = self.secrets.seal(&config.db_password);
        let json = serde_json::to_string(&sealed).expect("a configuration serializes");
        self.meta.set(&config_name(&config.guid), &json, None).await
    }

    /// Refuses an input whose address or key parts are invalid.
    fn check_input(input: &DatabaseInput) -> Result<()> {
        let probe = DatabaseConfig {
            guid: String::new(),
            system_code: input.system_code.clone(),
            db_type: input.db_type,
            db_address: input.db_address.clone(),
            db_user: input.db_user.clone(),
            db_password: String::new(),
            db_name: input.db_name.clone(),
        };
        probe.endpoint()?;
        // The system code and database name become key parts: they must make valid keys.
        SegmentKey::new(
            &input.system_code,
            probe.database().unwrap_or("x"),
            "x",
            "x",
        )?;
        Ok(())
    }

    /// Refuses a second configuration for the same system code and database name (ignoring
    /// case): lazy initialization must know which database seeds a key.
    async fn check_unique(&self, input: &DatabaseInput, except_guid: Option<&str>) -> Result<()> {
        let norm = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase)
        };
        let db = norm(input.db_name.as_deref());
        let clash = self.list_databases().await?.into_iter().any(|c| {
            Some(c.guid.as_str()) != except_guid
                && c.system_code.to_lowercase() == input.system_code.to_lowercase()
                && norm(c.database()) == db
        });
        if clash {
            return Err(Error::AlreadyExists {
                key: format!(
                    "system_code {}, db_name {}",
                    input.system_code,
                    input.db_name.as_deref().unwrap_or("(none)")
                ),
            });
        }
        Ok(())
    }

    /// Adds a configuration with a new guid (a UUID v4).
    pub async fn add_database(&self, input: DatabaseInput) -> Result<DatabaseConfig> {
        Self::check_input(&input)?;
        self.check_unique(&input, None).await?;
        let config = DatabaseConfig {
            guid: uuid::Uuid::new_v4().to_string(),
            system_code: input.system_code,
            db_type: input.db_type,
            db_address: input.db_address,
            db_user: input.db_user,
            db_password: input.db_password,
            db_name: input.db_name.filter(|n| !n.trim().is_empty()),
        };
        self.store(&config).await?;
        Ok(config)
    }

    /// Replaces a configuration; an empty password keeps the stored one, but only for the
    /// same type, host, port and user ([`Error::PasswordRequired`] otherwise, unless the
    /// stored password is empty too): the stored password must never be sent to a server the
    /// caller chose.
    pub async fn update_database(
        &self,
        guid: &str,
        input: DatabaseInput,
    ) -> Result<DatabaseConfig> {
        Self::check_input(&input)?;
        let old = self.get_database(guid).await?;
        if input.db_password.is_empty()
            && !old.db_password.is_empty()
            && !same_server_and_user(&old, &input)
        {
            return Err(Error::PasswordRequired);
        }
        self.check_unique(&input, Some(guid)).await?;
        let config = DatabaseConfig {
            guid: old.guid.clone(),
            system_code: input.system_code,
            db_type: input.db_type,
            db_address: input.db_address,
            db_user: input.db_user,
            db_password: if input.db_password.is_empty() {
                old.db_password
            } else {
                input.db_password
            },
            db_name: input.db_name.filter(|n| !n.trim().is_empty()),
        };
        self.store(&config).await?;
        self.forget_connector(guid);
        Ok(config)
    }

    /// Deletes a configuration and its discovered tables. Its counters are kept unless
    /// `purge_counters`: a counter dropped and later re-seeded from `MAX(pk)` can repeat IDs
    /// that were handed out but never inserted. Returns the number of counters purged.
    pub async fn delete_database(&self, guid: &str, purge_counters: bool) -> Result<usize> {
        let config = self.get_database(guid).await?;
        let mut purged = 0;
        if purge_counters {
            let others: Vec<DatabaseConfig> = self
                .list_databases()
                .await?
                .into_iter()
                .filter(|c| {
                    c.guid != guid
                        && c.system_code.to_lowercase() == config.system_code.to_lowercase()
                })
                .collect();
            let prefix = match config.database() {
                Some(db) => format!(
                    "{}:{}:",
                    config.system_code.to_lowercase(),
                    db.to_lowercase()
                ),
                None => format!("{}:", config.system_code.to_lowercase()),
            };
            for counter in self.allocator.list(&prefix).await? {
                let key = SegmentKey::parse(&counter.key)?;
                // Without a database name this configuration covers every database of its
                // system except those another configuration names.
                let owned_by_other = config.database().is_none()
                    && others.iter().any(|o| {
                        o.database()
                            .is_some_and(|d| d.to_lowercase() == key.db_name())
                    });
                if !owned_by_other && self.allocator.delete(&key).await? {
                    purged += 1;
                }
            }
        }
        self.meta.delete(&config_name(guid)).await?;
        self.meta
            .replace_members(&discovered_name(guid), &[])
            .await?;
        self.forget_connector(guid);
        Ok(purged)
    }

    /// The configuration that seeds `key`: the one whose system code and database name match
    /// (ignoring case), else one of the same system without a database name.
    pub async fn config_for_key(&self, key: &SegmentKey) -> Result<Option<DatabaseConfig>> {
        let configs = self.list_databases().await?;
        let same_system = |c: &&DatabaseConfig| c.system_code.to_lowercase() == key.system_code();
        if let Some(c) = configs.iter().filter(same_system).find(|c| {
            c.database()
                .is_some_and(|d| d.to_lowercase() == key.db_name())
        }) {
            return Ok(Some(c.clone()));
        }
        Ok(configs
            .iter()
            .filter(same_system)
            .find(|c| c.database().is_none())
            .cloned())
    }
}
