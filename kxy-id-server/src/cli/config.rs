//! `admin config add`: a counter for a key that is no table's primary key (any sequence a
//! team needs), under a database configuration.

use kxy_id::service::CustomCounter;
use kxy_id::wire::admin::{self, AddConfigRequest};

use super::exit::CliError;
use super::http::Api;
use super::output::{Output, print};

/// `admin config ...` (segment configurations).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigCommand {
    /// Create the counter system_code:db_name:TABLE:FIELD of a configuration, starting at
    /// --initial-value (the first ID handed out is one more); an existing key is refused.
    Add {
        /// The configuration's guid (it must name a db_name).
        guid: String,
        /// The third part of the key.
        #[arg(long)]
        table: String,
        /// The fourth part of the key.
        #[arg(long)]
        field: String,
        /// The counter's starting value.
        #[arg(long, default_value_t = 0)]
        initial_value: i64,
    },
}

pub(crate) async fn run(api: &Api, json: bool, command: &ConfigCommand) -> Result<(), CliError> {
    let ConfigCommand::Add {
        guid,
        table,
        field,
        initial_value,
    } = command;
    let request = AddConfigRequest {
        table_name: table.clone(),
        field_name: field.clone(),
        initial_value: *initial_value,
    };
    let path = admin::add_config_path(guid);
    let created: CustomCounter = api.post(&path, Some(&request)).await?.data;
    let row = vec![
        created.segment_key.clone(),
        created.initial_value.to_string(),
    ];
    let headers = &["SEGMENT_KEY", "INITIAL_VALUE"];
    print(json, &created, Output::table(headers, vec![row]));
    Ok(())
}
