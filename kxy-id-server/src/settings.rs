//! Configuration from flags, environment variables, a `.env` file and a config file
//! (`--config`, read by `config_file`): flags > environment (and `.env`) > file > defaults.
//!
//! The field docs are the `--help` text, written for a terminal rather than rustdoc.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::redact::{REDACTED, secret};

/// kxy-id server: segment ID allocation over HTTP, a drop-in replacement for kxy-open-id.
///
/// With no configuration it listens on 0.0.0.0:5801 and keeps everything in an SQLite file
/// under ./kxy-id-data. Every option can also come from the environment or a `.env` file in
/// the working directory (the old service's names REDIS_HOST, REDIS_PORT, REDIS_PASSWORD,
/// REDIS_DB, JWT_SECRET_KEY, JWT_ALGORITHM, JWT_EXPIRE_HOURS and DES_KEY keep working), or
/// from a TOML file given with --config: flags > environment > file > defaults.
#[derive(Clone, Parser)]
#[command(name = "kxy-id-server", version)]
pub struct Settings {
    /// What to do; serving HTTP when none is given.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A TOML file with a value for any option below, keyed by the option's name without the
    /// leading dashes (`listen = "0.0.0.0:5801"`, `tls-cert = "/etc/kxy-id/cert.pem"`).
    /// Flags and environment variables win over it. Check one with `config check`.
    #[arg(long, env = "KXY_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "KXY_LISTEN", default_value = "0.0.0.0:5801")]
    pub listen: String,

    /// Where counters and metadata live: sqlite://PATH, redis://[:password@]host:port/db,
    /// mysql://user:password@host:3306/db or postgres://user:password@host:5432/db.
    /// Default: sqlite://<data-dir>/kxy-id.db, or Redis when any REDIS_* variable is set.
    #[arg(long, env = "KXY_STORE", global = true)]
    pub store: Option<String>,

    /// With a Redis store: a SQL store (sqlite://PATH, mysql://..., postgres://...) that keeps
    /// a durable high-water mark per key and all metadata, so that Redis losing data (a restart
    /// without persistence, an older snapshot, a failover) costs a gap, never a repeated ID and
    /// never the configuration. Without it, such a Redis makes allocation stop until
    /// `kxy-id-server recover`.
    #[arg(long, env = "KXY_DURABLE_STORE", global = true)]
    pub durable_store: Option<String>,

    /// Directory for the embedded store and the generated encryption key.
    #[arg(
        long,
        env = "KXY_DATA_DIR",
        default_value = "./kxy-id-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Reserve at least this many IDs per key ahead in the store and serve requests from
    /// memory (Leaf's approach): one store write per block instead of per request; a crash or
    /// restart leaves a gap, never a repeat. 0 disables. Default: 100000 with the SQLite store
    /// (an fsync per write), 0 with Redis.
    #[arg(long, env = "KXY_RESERVE")]
    pub reserve: Option<i64>,

    /// Without reservation (--reserve 0): allocations of one key that arrive while a store call
    /// for it is in flight are served by one call of their summed counts (group commit), so a
    /// burst costs two round trips, not one per request. `false` makes every allocation its
    /// own store call.
    #[arg(long, env = "KXY_COALESCE", default_value_t = true, action = clap::ArgAction::Set)]
    pub coalesce: bool,

    /// Seconds between background scans for new tables; 0 disables the scanner.
    #[arg(long, env = "KXY_SCAN_INTERVAL", default_value_t = 60)]
    pub scan_interval: u64,

    /// Key (32 bytes, base64 or 64 hex digits) that encrypts database passwords at rest.
    /// Default: generated into <data-dir>/secret.key. Servers sharing a store need the same key.
    #[arg(long, env = "KXY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Redis host (old service setting; selects the Redis store when KXY_STORE is unset).
    #[arg(long, env = "REDIS_HOST")]
    pub redis_host: Option<String>,

    /// Redis port (old service setting).
    #[arg(long, env = "REDIS_PORT")]
    pub redis_port: Option<u16>,

    /// Redis password (old service setting).
    #[arg(long, env = "REDIS_PASSWORD", hide_env_values = true)]
    pub redis_password: Option<String>,

    /// Redis database number (old service setting).
    #[arg(long, env = "REDIS_DB")]
    pub redis_db: Option<u32>,

    /// Secret that signs admin tokens. Default: a random secret generated once and kept in the store.
    #[arg(long, env = "JWT_SECRET_KEY", hide_env_values = true)]
    pub jwt_secret_key: Option<String>,

    /// JWT signing algorithm: HS256, HS384 or HS512.
    #[arg(long, env = "JWT_ALGORITHM", default_value = "HS256")]
    pub jwt_algorithm: String,

    /// Hours an admin token stays valid.
    #[arg(long, env = "JWT_EXPIRE_HOURS", default_value_t = 24)]
    pub jwt_expire_hours: u64,

    /// The old service's DES key, only to accept a legacy admin password once.
    #[arg(
        long,
        env = "DES_KEY",
        default_value = "f87e43f9",
        hide_env_values = true
    )]
    pub des_key: String,

    /// bcrypt cost of the admin password (10 to 31).
    #[arg(long, env = "KXY_BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(10..=31))]
    pub bcrypt_cost: u32,

    /// Seconds to wait when connecting to a business database.
    #[arg(long, env = "KXY_CONNECT_TIMEOUT", default_value_t = 5)]
    pub connect_timeout: u64,

    /// The most connections opened to one business database at once: initialize and the
    /// scanner run this many `MAX(pk)` queries in parallel.
    #[arg(long, env = "KXY_DB_MAX_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub db_max_connections: u32,

    /// The most IDs one allocation request may take (segment_count); larger requests get 400.
    /// Bounds how fast an unauthenticated caller can use up a key's 63-bit range.
    #[arg(long, env = "KXY_MAX_SEGMENT_COUNT", default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_segment_count: i64,

    /// The most IDs one key may hand out per minute (per server); past it allocation answers
    /// 429 with Retry-After. Off when unset.
    #[arg(long, env = "KXY_MAX_IDS_PER_MINUTE", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_ids_per_minute: Option<u64>,

    /// Require `Authorization: Bearer <allocation token>` on /api/segment/allocate; tokens are
    /// created per system code by the admin (POST /api/tokens). Off by default for old clients.
    #[arg(long, env = "KXY_REQUIRE_ALLOCATION_TOKENS", default_value_t = false)]
    pub require_allocation_tokens: bool,

    /// Login attempts per user name and per client address before logins are refused for a
    /// while (1 minute, doubling up to 15).
    #[arg(long, env = "KXY_LOGIN_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts: u32,

    /// Serve HTTPS with this certificate chain (PEM, leaf first; needs --tls-key). The files
    /// are read again on SIGHUP and when they change, so certificates rotate without a restart.
    #[arg(long, env = "KXY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "KXY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// With TLS: require client certificates signed by a CA in this PEM file (mutual TLS).
    #[arg(long, env = "KXY_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,

    /// With TLS: offer HTTP/2 (ALPN h2) besides HTTP/1.1.
    #[arg(long, env = "KXY_TLS_HTTP2", default_value_t = false)]
    pub tls_http2: bool,

    /// With TLS: seconds between checks whether the certificate files changed; 0 reloads on
    /// SIGHUP only.
    #[arg(long, env = "KXY_TLS_RELOAD_INTERVAL", default_value_t = 5)]
    pub tls_reload_interval: u64,

    /// Where each option's value came from, masked, for `config check` (set by `load`).
    #[arg(skip)]
    pub(crate) origins: Vec<crate::config_file::Origin>,
}

impl std::fmt::Debug for Settings {
    /// Every secret (and any password inside a store URL) redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = |s: &Option<String>| s.as_deref().map(kxy_id::redact_url);
        f.debug_struct("Settings")
            .field("command", &self.command)
            .field("listen", &self.listen)
            .field("store", &url(&self.store))
            .field("durable_store", &url(&self.durable_store))
            .field("data_dir", &self.data_dir)
            .field("reserve", &self.reserve)
            .field("coalesce", &self.coalesce)
            .field("scan_interval", &self.scan_interval)
            .field("secret_key", &secret(&self.secret_key))
            .field("redis_host", &self.redis_host)
            .field("redis_port", &self.redis_port)
            .field("redis_password", &secret(&self.redis_password))
            .field("redis_db", &self.redis_db)
            .field("jwt_secret_key", &secret(&self.jwt_secret_key))
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_expire_hours", &self.jwt_expire_hours)
            .field("des_key", &REDACTED)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("connect_timeout", &self.connect_timeout)
            .field("db_max_connections", &self.db_max_connections)
            .field("max_segment_count", &self.max_segment_count)
            .field("max_ids_per_minute", &self.max_ids_per_minute)
            .field("require_allocation_tokens", &self.require_allocation_tokens)
            .field("login_attempts", &self.login_attempts)
            .field("config", &self.config)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_client_ca", &self.tls_client_ca)
            .field("tls_http2", &self.tls_http2)
            .field("tls_reload_interval", &self.tls_reload_interval)
            .finish()
    }
}

/// Commands besides serving, for an operator on the server's host.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// After Redis lost data without a durable store: raise every counter by MARGIN, make
    /// MARGIN the floor of counters created later, and let running servers allocate again.
    Recover {
        /// More than the largest ID that may have been handed out.
        #[arg(long)]
        margin: i64,
    },
    /// Write the store's configurations, admin account and counters as JSON (database
    /// passwords stay encrypted; the generated JWT secret is left out).
    Export {
        /// The file to write (mode 0600); standard output when absent.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Read an export into the store: metadata is replaced, counters are only raised.
    Import {
        /// The file `export` wrote.
        file: PathBuf,
    },
    /// Copy counters and metadata from one store into another (such as a single Redis, as the
    /// old service leaves it, into a Redis Cluster): counters are only raised, never lowered,
    /// so an ID handed out from the source is never handed out again from the target. Stop
    /// whatever allocates from the source first. `--durable-store` applies to the target.
    Migrate {
        /// The store to copy from (any store URL).
        #[arg(long)]
        from: String,
        /// The store to copy into (any store URL).
        #[arg(long)]
        to: String,
    },
    /// Allow `init-user` again on this host after the store lost its admin account (removes
    /// the `admin-exists` record in the data directory).
    ReopenInit,
    /// Admin tasks through a running server's HTTP API with an admin token, for scripts and
    /// CI: login, db, counters, config. Exit codes: 0 ok, 1 local failure, 2 usage, 3 auth
    /// refused, 4 not found, 5 conflict or invalid input, 6 server unreachable, 7 server error.
    Admin(Box<crate::cli::AdminArgs>),
    /// The configuration file.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `config` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigAction {
    /// Check the file given with --config (unknown keys and bad values are errors) and print
    /// the configuration in effect, with where each value came from and secrets masked.
    Check,
}

impl Settings {
    /// Reads `.env` (if present, without overriding the environment), then flags, environment
    /// and the config file. Exits with a message on bad input, as clap does.
    pub fn load() -> Settings {
        let _ = dotenvy::dotenv();
        match Settings::try_load_from(std::env::args_os()) {
            Ok(settings) => settings,
            Err(crate::config_file::LoadError::Clap(e)) => e.exit(),
            Err(e) => {
                eprintln!("kxy-id-server: {e}");
                std::process::exit(2);
            }
        }
    }

    /// Flags `args` (the program name first), the environment and the config file they name
    /// (`--config` or `KXY_CONFIG`): flags > environment > file > defaults.
    pub fn try_load_from<I, T>(args: I) -> Result<Settings, crate::config_file::LoadError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        crate::config_file::load(args)
    }

    /// The TLS settings in effect, `None` without `--tls-cert`; an error when only one of
    /// `--tls-cert` and `--tls-key` is set.
    pub fn tls(&self) -> Result<Option<crate::TlsSettings>, kxy_id::Error> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(crate::TlsSettings {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
                http2: self.tls_http2,
            })),
            _ => Err(kxy_id::Error::InvalidConfig(
                "TLS needs both tls-cert and tls-key".to_owned(),
            )),
        }
    }

    /// The TLS reload poll interval, `None` when only SIGHUP reloads.
    pub fn tls_reload_every(&self) -> Option<Duration> {
        (self.tls_reload_interval > 0).then(|| Duration::from_secs(self.tls_reload_interval))
    }

    /// The store URL in effect.
    pub fn store_url(&self) -> String {
        if let Some(store) = self.store.as_deref().filter(|s| !s.is_empty()) {
            return store.to_owned();
        }
        let redis = self.redis_host.is_some()
            || self.redis_port.is_some()
            || self.redis_password.is_some()
            || self.redis_db.is_some();
        if redis {
            let auth = match self.redis_password.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => format!(":{}@", kxy_id::wire::admin::percent_encode(p)),
                None => String::new(),
            };
            return format!(
                "redis://{auth}{}:{}/{}",
                self.redis_host.as_deref().unwrap_or("127.0.0.1"),
                self.redis_port.unwrap_or(6379),
                self.redis_db.unwrap_or(0)
            );
        }
        format!("sqlite://{}", self.data_dir.join("kxy-id.db").display())
    }

    /// The durable store in effect, if any.
    pub fn durable_store_url(&self) -> Option<String> {
        self.durable_store.clone().filter(|s| !s.is_empty())
    }

    /// The file that records that an admin existed on this host.
    pub fn admin_marker(&self) -> PathBuf {
        self.data_dir.join("admin-exists")
    }

    /// The reservation block in effect (0: none).
    pub fn reserve_block(&self) -> i64 {
        match self.reserve {
            Some(n) => n.max(0),
            None if self.store_url().starts_with("sqlite://") => 100_000,
            None => 0,
        }
    }

    /// The scanner interval, `None` when disabled.
    pub fn scan_every(&self) -> Option<Duration> {
        (self.scan_interval > 0).then(|| Duration::from_secs(self.scan_interval))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Settings {
        Settings::try_parse_from(std::iter::once("kxy-id-server").chain(args.iter().copied()))
            .unwrap()
    }

    #[test]
    fn the_default_store_is_sqlite_in_the_data_dir() {
        let s = parse(&["--data-dir", "/tmp/x"]);
        assert_eq!(s.store_url(), "sqlite:///tmp/x/kxy-id.db");
        assert_eq!(s.listen, "0.0.0.0:5801");
        assert_eq!(s.scan_every(), Some(Duration::from_secs(60)));
        assert_eq!(s.reserve_block(), 100_000);
        assert_eq!(parse(&["--reserve", "0"]).reserve_block(), 0);
    }

    #[test]
    fn old_redis_settings_select_redis_and_flags_win() {
        let s = parse(&[
            "--redis-host",
            "10.0.0.5",
            "--redis-password",
            "pw",
            "--redis-db",
            "2",
        ]);
        assert_eq!(s.store_url(), "redis://:pw@10.0.0.5:6379/2");
        assert_eq!(s.reserve_block(), 0);
        let s = parse(&["--redis-host", "h", "--store", "sqlite:///data/x.db"]);
        assert_eq!(s.store_url(), "sqlite:///data/x.db");
        assert_eq!(parse(&["--scan-interval", "0"]).scan_every(), None);
    }

    #[test]
    fn redis_passwords_are_url_encoded_and_debug_hides_secrets() {
        let s = parse(&[
            "--redis-password",
            "p@ss:w/rd#1",
            "--jwt-secret-key",
            "jwt-secret-value",
            "--secret-key",
            "key-value",
        ]);
        assert_eq!(
            s.store_url(),
            "redis://:p%40ss%3Aw%2Frd%231@127.0.0.1:6379/0"
        );
        let debug = format!("{s:?}");
        for secret in ["p@ss", "jwt-secret-value", "key-value", "f87e43f9"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        let s = parse(&["--store", "redis://:hunter2@h:6379/0"]);
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
