//! `/api/database/*` (auth): configurations, initialize, custom sequences, discovery.

use kxy_id::wire::admin::{AddConfigRequest, ApproveAnswer, ApproveRequest, DeleteAnswer};
use kxy_id::{DatabaseConfig, DatabaseInput, DbType};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::response::ok;
use crate::state::AppState;
use crate::validate::Fields;

/// A configuration as the API shows it: the password never leaves the server.
fn public(mut config: DatabaseConfig) -> Value {
    config.db_password = String::new();
    serde_json::to_value(config).expect("a configuration serializes")
}

fn database_input(body: &[u8]) -> Result<DatabaseInput, ApiError> {
    let mut f = Fields::parse(body)?;
    let system_code = f.string("system_code", 1, 100);
    let db_type = f.one_of("db_type", &["mysql", "postgresql", "sqlserver", "oracle"]);
    let db_address = f.string("db_address", 1, 255);
    let db_user = f.string("db_user", 1, 255);
    let db_password = f.string("db_password", 0, 1000);
    let db_name = f.opt_string("db_name", 128);
    f.finish()?;
    Ok(DatabaseInput {
        system_code,
        db_type: db_type.parse::<DbType>().map_err(ApiError::from)?,
        db_address,
        db_user,
        db_password,
        db_name,
    })
}

/// `GET /api/database/list`
pub(crate) async fn list(state: &AppState) -> ApiResult {
    let configs: Vec<Value> = state
        .service
        .list_databases()
        .await?
        .into_iter()
        .map(public)
        .collect();
    Ok(ok("", configs))
}

/// `POST /api/database/add`
pub(crate) async fn add(state: &AppState, body: &[u8]) -> ApiResult {
    let input = database_input(body)?;
    let config = state.service.add_database(input).await?;
    Ok(ok(
        "Database configuration added successfully",
        public(config),
    ))
}

/// `GET /api/database/{guid}`
pub(crate) async fn get(state: &AppState, guid: &str) -> ApiResult {
    Ok(ok("", public(state.service.get_database(guid).await?)))
}

/// `PUT /api/database/{guid}`: an empty password keeps the stored one.
pub(crate) async fn update(state: &AppState, guid: &str, body: &[u8]) -> ApiResult {
    let input = database_input(body)?;
    let config = state.service.update_database(guid, input).await?;
    Ok(ok(
        "Database configuration updated successfully",
        public(config),
    ))
}

/// `DELETE /api/database/{guid}[?purge_segments=true]`: counters are kept unless purged.
pub(crate) async fn delete(state: &AppState, guid: &str, query: Option<&str>) -> ApiResult {
    let purge = match crate::request::query_param(query, "purge_segments").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::Unprocessable(vec![json!({
                "type": "bool_parsing", "loc": ["query", "purge_segments"],
                "msg": "Input should be a valid boolean (true, false, 1 or 0)", "input": other
            })]));
        }
    };
    let purged = state.service.delete_database(guid, purge).await?;
    Ok(ok(
        "Database configuration deleted successfully",
        DeleteAnswer {
            deleted: true,
            guid: guid.to_owned(),
            purged_segments: purged,
        },
    ))
}

/// `POST /api/database/initialize/{guid}`
pub(crate) async fn initialize(state: &AppState, guid: &str) -> ApiResult {
    // An unknown guid is a 404; any failure of the business database is the old 500.
    state.service.get_database(guid).await?;
    match state.service.initialize(guid).await {
        Ok(result) => Ok(ok(
            format!("Initialized {} segments", result.initialized_count),
            result,
        )),
        Err(e) => Err(ApiError::handled(
            500,
            format!("Failed to initialize database: {e}"),
        )),
    }
}

/// `POST /api/database/{guid}/add-config`
pub(crate) async fn add_config(state: &AppState, guid: &str, body: &[u8]) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let request = AddConfigRequest {
        table_name: f.string("table_name", 1, 128),
        field_name: f.string("field_name", 1, 128),
        initial_value: f.int("initial_value", 0, i64::MAX, Some(0)),
    };
    f.finish()?;
    let created = state
        .service
        .add_custom_counter(
            guid,
            &request.table_name,
            &request.field_name,
            request.initial_value,
        )
        .await
        .map_err(|e| match e {
            kxy_id::Error::InvalidConfig(msg) if msg == "Database name not configured" => {
                ApiError::handled(400, msg)
            }
            e => e.into(),
        })?;
    Ok(ok("Custom configuration added successfully", created))
}

/// `GET /api/database/{guid}/discovered-tables`
pub(crate) async fn discovered(state: &AppState, guid: &str) -> ApiResult {
    Ok(ok("", state.service.discovered_tables(guid).await?))
}

/// `POST /api/database/{guid}/approve` with `{"database", "table"}`: seeds one discovered table.
pub(crate) async fn approve(state: &AppState, guid: &str, body: &[u8]) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let request = ApproveRequest {
        database: f.string("database", 1, 128),
        table: f.string("table", 1, 128),
    };
    f.finish()?;
    let outcome = state
        .service
        .approve_discovered(guid, &request.database, &request.table)
        .await?;
    Ok(ok(
        "Discovered table approved",
        ApproveAnswer {
            database: request.database,
            table: request.table,
            value: outcome.value(),
            changed: outcome.changed(),
        },
    ))
}
