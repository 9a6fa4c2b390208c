//! `admin db ...`: database configurations, initialize, discovered tables and their approval.

use kxy_id::service::{DiscoveredTable, InitializeResult};
use kxy_id::wire::admin::{
    self, ApproveAnswer, ApproveRequest, DATABASE_ADD_PATH, DATABASE_LIST_PATH, DeleteAnswer,
};
use kxy_id::{DatabaseConfig, DatabaseInput, DbType};

use super::exit::{CliError, Exit};
use super::http::Api;
use super::input;
use super::output::{Output, cell, print};

/// `admin db ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DbCommand {
    /// List the database configurations (passwords are never shown).
    List,
    /// Show one database configuration.
    Show {
        /// The configuration's guid.
        guid: String,
    },
    /// Add a database configuration. Its password comes from the first line of standard
    /// input (--password-stdin) or the KXY_DB_PASSWORD environment variable, never from an
    /// argument; with neither, the password is empty.
    Add(AddArgs),
    /// Replace a database configuration. Without a password (from --password-stdin or
    /// KXY_DB_PASSWORD) the stored one is kept, when type, address and user are unchanged.
    Update {
        /// The configuration's guid.
        guid: String,
        /// The new configuration.
        #[command(flatten)]
        config: AddArgs,
    },
    /// Seed a counter for every table with a single integer primary key (counters are only
    /// ever raised); lists what was set, already ahead, skipped and failed.
    Initialize {
        /// The configuration's guid.
        guid: String,
    },
    /// The tables the background scanner found without a counter.
    Discovered {
        /// The configuration's guid.
        guid: String,
    },
    /// Seed the counter of one discovered table from its MAX(primary key).
    Approve {
        /// The configuration's guid.
        guid: String,
        /// The table's database, as `discovered` lists it.
        #[arg(long)]
        database: String,
        /// The table, as `discovered` lists it.
        #[arg(long)]
        table: String,
    },
    /// Delete a configuration; its counters are kept unless --purge-segments.
    Delete {
        /// The configuration's guid.
        guid: String,
        /// Also drop its counters (IDs they handed out may then be handed out again once a
        /// counter is re-seeded from MAX(pk)).
        #[arg(long)]
        purge_segments: bool,
    },
}

/// `admin db add` and `admin db update`.
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// The system code, the first part of every key of this database.
    #[arg(long)]
    pub system_code: String,
    /// The kind of database.
    #[arg(long = "type", value_parser = DbType::ALL.map(DbType::as_str))]
    pub db_type: String,
    /// host or host:port (default ports 3306, 5432, 1433, 1521).
    #[arg(long)]
    pub address: String,
    /// The user to connect as.
    #[arg(long)]
    pub user: String,
    /// The one database to scan (for Oracle: the service name); every database the user sees
    /// when absent.
    #[arg(long)]
    pub db_name: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

const CONFIG_HEADERS: &[&str] = &["GUID", "SYSTEM", "TYPE", "ADDRESS", "USER", "DATABASE"];

fn config_row(c: &DatabaseConfig) -> Vec<String> {
    vec![
        c.guid.clone(),
        c.system_code.clone(),
        c.db_type.as_str().to_owned(),
        c.db_address.clone(),
        c.db_user.clone(),
        cell(c.db_name.as_deref()),
    ]
}

pub(crate) async fn run(api: &Api, json: bool, command: &DbCommand) -> Result<(), CliError> {
    match command {
        DbCommand::List => {
            let configs: Vec<DatabaseConfig> = api.get(DATABASE_LIST_PATH).await?;
            let rows = configs.iter().map(config_row).collect();
            print(json, &configs, Output::table(CONFIG_HEADERS, rows));
        }
        DbCommand::Show { guid } => {
            let config: DatabaseConfig = api.get(&admin::database_path(guid)).await?;
            let rows = vec![config_row(&config)];
            print(json, &config, Output::table(CONFIG_HEADERS, rows));
        }
        DbCommand::Add(args) => {
            let input = database_input(args)?;
            let config: DatabaseConfig = api.post(DATABASE_ADD_PATH, Some(&input)).await?.data;
            let rows = vec![config_row(&config)];
            print(json, &config, Output::table(CONFIG_HEADERS, rows));
        }
        DbCommand::Update { guid, config } => {
            let input = database_input(config)?;
            let path = admin::database_path(guid);
            let config: DatabaseConfig = api.put(&path, &input).await?;
            let rows = vec![config_row(&config)];
            print(json, &config, Output::table(CONFIG_HEADERS, rows));
        }
        DbCommand::Initialize { guid } => {
            let path = admin::initialize_path(guid);
            let result: InitializeResult = api.post(&path, None::<&()>).await?.data;
            print(json, &result, initialize_table(&result));
        }
        DbCommand::Discovered { guid } => {
            let tables: Vec<DiscoveredTable> = api.get(&admin::discovered_path(guid)).await?;
            let rows = tables
                .iter()
                .map(|t| {
                    let (db, table, pk) = (&t.database, &t.table, &t.primary_key);
                    vec![db.clone(), table.clone(), pk.clone(), t.max_id.to_string()]
                })
                .collect();
            let headers = &["DATABASE", "TABLE", "PRIMARY_KEY", "MAX_ID"];
            print(json, &tables, Output::table(headers, rows));
        }
        DbCommand::Approve {
            guid,
            database,
            table,
        } => {
            let request = ApproveRequest {
                database: database.clone(),
                table: table.clone(),
            };
            let path = admin::approve_path(guid);
            let approved: ApproveAnswer = api.post(&path, Some(&request)).await?.data;
            let row = vec![
                approved.database.clone(),
                approved.table.clone(),
                approved.value.to_string(),
                approved.changed.to_string(),
            ];
            let headers = &["DATABASE", "TABLE", "VALUE", "CHANGED"];
            print(json, &approved, Output::table(headers, vec![row]));
        }
        DbCommand::Delete {
            guid,
            purge_segments,
        } => {
            let mut path = admin::database_path(guid);
            if *purge_segments {
                path.push_str("?purge_segments=true");
            }
            let deleted: DeleteAnswer = api.delete(&path).await?;
            let line = if *purge_segments {
                format!(
                    "deleted {}; purged {} counters",
                    deleted.guid, deleted.purged_segments
                )
            } else {
                format!("deleted {}; its counters are kept", deleted.guid)
            };
            print(json, &deleted, Output::Line(line));
        }
    }
    Ok(())
}

/// The body of `db add` and `db update`, its password from standard input or the environment
/// (empty when neither gives one).
fn database_input(args: &AddArgs) -> Result<DatabaseInput, CliError> {
    Ok(DatabaseInput {
        system_code: args.system_code.clone(),
        db_type: args
            .db_type
            .parse()
            .map_err(|e| CliError::new(Exit::Usage, format!("--type: {e}")))?,
        db_address: args.address.clone(),
        db_user: args.user.clone(),
        db_password: input::secret(args.password_stdin, "KXY_DB_PASSWORD")?.unwrap_or_default(),
        db_name: args.db_name.clone(),
    })
}

/// One row per table initialize looked at: what happened to its key.
fn initialize_table(result: &InitializeResult) -> Output {
    let report = &result.report;
    let table = |database: &str, table: &str| format!("{database}.{table}");
    let rows = report
        .set
        .iter()
        .map(|s| vec!["set".into(), s.key.clone(), format!("value {}", s.value)])
        .chain(report.already_ahead.iter().map(|a| {
            let detail = format!("counter {} is ahead of MAX {}", a.current, a.max_id);
            vec!["ahead".into(), a.key.clone(), detail]
        }))
        .chain(report.skipped.iter().map(|s| {
            let name = table(&s.database, &s.table);
            vec!["skipped".into(), name, s.reason.clone()]
        }))
        .chain(report.errors.iter().map(|e| {
            let name = table(&e.database, &e.table);
            vec!["error".into(), name, e.error.clone()]
        }))
        .collect();
    Output::table(&["STATUS", "KEY_OR_TABLE", "DETAIL"], rows)
}
