//! The admin endpoints' contract: their paths, the bodies sent and the `data` of their answers,
//! for the server that answers and for the admin CLI (or any Rust caller) that asks.
//!
//! Every admin endpoint but login wants `Authorization: Bearer <token>`, the token of
//! [`LoginAnswer`]. Answers come in the [`Envelope`](super::Envelope) and read with
//! [`parse_answer`](super::parse_answer):
//!
//! | method and path | body | `data` |
//! |---|---|---|
//! | POST [`INIT_USER_PATH`] (no token; once) | [`LoginRequest`] | [`InitUserAnswer`] |
//! | POST [`LOGIN_PATH`] | [`LoginRequest`] | [`LoginAnswer`] |
//! | GET [`DATABASE_LIST_PATH`] | – | `[`[`DatabaseConfig`]`]` |
//! | POST [`DATABASE_ADD_PATH`] | [`DatabaseInput`] | [`DatabaseConfig`] |
//! | DELETE [`database_path`] (`?purge_segments=true`) | – | [`DeleteAnswer`] |
//! | POST [`initialize_path`] | – | [`InitializeResult`] |
//! | GET [`discovered_path`] | – | `[`[`DiscoveredTable`]`]` |
//! | POST [`approve_path`] | [`ApproveRequest`] | [`ApproveAnswer`] |
//! | POST [`add_config_path`] | [`AddConfigRequest`] | [`CustomCounter`] |
//! | GET [`COUNTERS_PATH`] (`?system_code=..&db_name=..`) | – | `[`[`Counter`]`]` |
//! | POST [`TOKENS_PATH`] | [`CreateTokenRequest`] | [`CreatedToken`] |
//! | GET [`TOKENS_PATH`] | – | `[`[`TokenRecord`]`]` |
//! | DELETE [`token_path`] | – | [`RevokeAnswer`] |
//!
//! The types defined here exist only on the wire; the others are the library's own types,
//! serialized as they are (a [`DatabaseConfig`] in an answer always has an empty
//! `db_password`). Like the rest of [`wire`](super), this module depends on nothing but the
//! crate's base modules.
//!
//! [`DatabaseConfig`]: crate::DatabaseConfig
//! [`DatabaseInput`]: crate::DatabaseInput
//! [`InitializeResult`]: crate::service::InitializeResult
//! [`DiscoveredTable`]: crate::service::DiscoveredTable
//! [`CustomCounter`]: crate::service::CustomCounter
//! [`Counter`]: crate::Counter

use std::fmt;

use serde::{Deserialize, Serialize};

/// `POST`: creates the admin account on a server that has none (no token needed).
pub const INIT_USER_PATH: &str = "/api/auth/init-user";
/// `POST`: a token for the admin's name and password.
pub const LOGIN_PATH: &str = "/api/auth/login";
/// `GET`: every database configuration.
pub const DATABASE_LIST_PATH: &str = "/api/database/list";
/// `POST`: a new database configuration.
pub const DATABASE_ADD_PATH: &str = "/api/database/add";
/// `GET`: every counter and its value, optionally only those of a system code and database.
pub const COUNTERS_PATH: &str = "/api/segment/counters";

/// `POST`: a new allocation token; `GET`: every allocation token (never the token itself).
pub const TOKENS_PATH: &str = "/api/tokens";

/// `DELETE`: revoke one allocation token.
pub fn token_path(id: &str) -> String {
    format!("{TOKENS_PATH}/{}", percent_encode(id))
}

/// `GET`, `PUT` or `DELETE` one configuration.
pub fn database_path(guid: &str) -> String {
    format!("/api/database/{}", percent_encode(guid))
}

/// `POST`: seed a counter for every integer-keyed table of the configuration.
pub fn initialize_path(guid: &str) -> String {
    format!("/api/database/initialize/{}", percent_encode(guid))
}

/// `GET`: the tables the scanner found without a counter.
pub fn discovered_path(guid: &str) -> String {
    format!("{}/discovered-tables", database_path(guid))
}

/// `POST`: seed one discovered table.
pub fn approve_path(guid: &str) -> String {
    format!("{}/approve", database_path(guid))
}

/// `POST`: a counter for a key that is no table's primary key.
pub fn add_config_path(guid: &str) -> String {
    format!("{}/add-config", database_path(guid))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a path segment, a
/// query value or a URL's userinfo.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The body of [`LOGIN_PATH`] and [`INIT_USER_PATH`]. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The admin's name.
    pub username: String,
    /// The admin's password.
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The `data` of a successful login. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAnswer {
    /// A bearer token for the admin endpoints (a JWT that expires).
    pub token: String,
    /// The admin's name.
    pub username: String,
}

impl fmt::Debug for LoginAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAnswer")
            .field("token", &"<redacted>")
            .field("username", &self.username)
            .finish()
    }
}

/// The `data` of [`INIT_USER_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitUserAnswer {
    /// The admin's name.
    pub username: String,
}

/// The `data` of `DELETE` [`database_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAnswer {
    /// Always `true` (a failure is an error code).
    pub deleted: bool,
    /// The configuration deleted.
    pub guid: String,
    /// How many counters were dropped with it (0 unless `purge_segments=true` was asked).
    #[serde(default)]
    pub purged_segments: usize,
}

/// The body of [`approve_path`]: one discovered table, named as
/// [`DiscoveredTable`](crate::service::DiscoveredTable) names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproveRequest {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
}

/// The `data` of [`approve_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproveAnswer {
    /// The database.
    pub database: String,
    /// The table.
    pub table: String,
    /// The counter's value now.
    #[serde(deserialize_with = "super::deserialize_integer")]
    pub value: i64,
    /// `false` when the counter was already at or past the table's `MAX(pk)`.
    pub changed: bool,
}

/// The body of [`add_config_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddConfigRequest {
    /// The third part of the key.
    pub table_name: String,
    /// The fourth part of the key.
    pub field_name: String,
    /// The counter's first value (the first ID handed out is one more).
    #[serde(default, deserialize_with = "super::deserialize_integer")]
    pub initial_value: i64,
}

/// The body of `POST` [`TOKENS_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTokenRequest {
    /// The system code the token may allocate for.
    pub system_code: String,
}

/// An allocation token as stored and listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's id (the first 16 hex digits of its hash), for listing and revoking.
    pub id: String,
    /// The system code it may allocate for, as the admin wrote it.
    pub system_code: String,
    /// When it was created, seconds since the epoch.
    pub created_at: u64,
}

/// The `data` of `POST` [`TOKENS_PATH`]: the record and, this once, the token. `Debug` never
/// shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    /// The token's id.
    pub id: String,
    /// The system code it may allocate for.
    pub system_code: String,
    /// When it was created, seconds since the epoch.
    pub created_at: u64,
    /// The token, for `Authorization: Bearer` on allocation; the server keeps only its hash.
    pub token: String,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("system_code", &self.system_code)
            .field("created_at", &self.created_at)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The `data` of `DELETE` [`token_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAnswer {
    /// Always `true` (an unknown id is a 404).
    pub revoked: bool,
    /// The token's id.
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_a_guid_in_one_segment() {
        assert_eq!(database_path("a-1"), "/api/database/a-1");
        assert_eq!(approve_path("../x?y"), "/api/database/..%2Fx%3Fy/approve");
        assert_eq!(initialize_path("g"), "/api/database/initialize/g");
        assert_eq!(percent_encode("p@ss:w/rd#1"), "p%40ss%3Aw%2Frd%231");
    }

    #[test]
    fn answers_read_big_integers_written_as_strings() {
        let body = br#"{"code":0,"msg":"","data":[{"key":"a:b:c:d","value":"9007199254741000"}]}"#;
        let answer = super::super::parse_answer::<Vec<crate::Counter>>(200, body).unwrap();
        assert_eq!(answer.data[0].value, 9_007_199_254_741_000);
        let approve = br#"{"code":0,"msg":"ok","data":{"database":"d","table":"t","value":5,"changed":true}}"#;
        let answer = super::super::parse_answer::<ApproveAnswer>(200, approve).unwrap();
        assert_eq!((answer.msg.as_str(), answer.data.value), ("ok", 5));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let login = LoginRequest {
            username: "admin".into(),
            password: "hunter2".into(),
        };
        let answer = LoginAnswer {
            token: "eyJ.secret".into(),
            username: "admin".into(),
        };
        let created = CreatedToken {
            id: "1".into(),
            system_code: "s".into(),
            created_at: 0,
            token: "kxy_at_secret".into(),
        };
        let shown = format!("{login:?} {answer:?} {created:?}");
        for secret in ["hunter2", "eyJ", "kxy_at_secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
