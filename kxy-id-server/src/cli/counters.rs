//! `admin counters list`: every counter and its value.

use kxy_id::Counter;
use kxy_id::wire::admin::{COUNTERS_PATH, percent_encode};

use super::exit::CliError;
use super::http::Api;
use super::output::{Output, print};

/// `admin counters ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CountersCommand {
    /// List counters (key and the largest ID handed out so far).
    List {
        /// Only the keys of this system code.
        #[arg(long)]
        system_code: Option<String>,
        /// Only the keys of this database.
        #[arg(long)]
        db_name: Option<String>,
    },
}

pub(crate) async fn run(api: &Api, json: bool, command: &CountersCommand) -> Result<(), CliError> {
    let CountersCommand::List {
        system_code,
        db_name,
    } = command;
    let query: Vec<String> = [("system_code", system_code), ("db_name", db_name)]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", percent_encode(value.as_ref()?))))
        .collect();
    let path = match query.is_empty() {
        true => COUNTERS_PATH.to_owned(),
        false => format!("{COUNTERS_PATH}?{}", query.join("&")),
    };
    let counters: Vec<Counter> = api.get(&path).await?;
    let rows = counters
        .iter()
        .map(|c| vec![c.key.clone(), c.value.to_string()])
        .collect();
    print(json, &counters, Output::table(&["KEY", "VALUE"], rows));
    Ok(())
}
