//! `kxy-id-server admin ...`: the admin tasks of the web UI as commands for scripts and CI,
//! through a running server's HTTP API with an admin token.
//!
//! One file per command group (`login`, `db`, `counters`, `config`, `tokens`), each printing a table
//! for people or the answer's `data` as JSON (`--json`, see `output`) and ending with an
//! [`Exit`] code per class of failure (`exit`). `http` is the HTTP client, `token` the token
//! file `login` writes, `input` reads passwords from standard input or the environment.
//!
//! Exports and imports work on the store itself (`kxy-id-server export` / `import`): the API
//! has no endpoint for them.

mod config;
mod counters;
mod db;
mod exit;
mod http;
mod input;
mod login;
mod output;
mod token;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub use config::ConfigCommand;
pub use counters::CountersCommand;
pub use db::{AddArgs, DbCommand};
pub use exit::Exit;
pub use login::{InitUserArgs, LoginArgs};
pub use tokens::TokensCommand;

use exit::CliError;
use http::Api;

/// `kxy-id-server admin`: the server to talk to, how to authenticate, and the command.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// Where and how to reach the server.
    #[command(flatten)]
    pub connection: Connection,

    /// The admin task.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The options every admin command shares.
#[derive(Clone, clap::Args)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        env = "KXY_SERVER",
        default_value = "http://127.0.0.1:5801",
        global = true
    )]
    pub server: String,

    /// An admin token to use instead of the one `login` saved (prefer KXY_TOKEN: arguments
    /// are visible to other users of the host).
    #[arg(long, env = "KXY_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,

    /// The file `login` saves tokens in, one per server (mode 0600). Default:
    /// $XDG_CONFIG_HOME/kxy-id/tokens.json or ~/.config/kxy-id/tokens.json.
    #[arg(long, env = "KXY_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,

    /// Print the answer as JSON (the API's `data`) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,

    /// The CA that an `https://` server's certificate must come from (PEM); default: the
    /// system's trusted roots.
    #[arg(long, env = "KXY_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,

    /// Seconds to wait for connecting and for each answer.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub timeout: u64,
}

impl std::fmt::Debug for Connection {
    /// Never shows the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server)
            .field("token", &crate::redact::secret(&self.token))
            .field("token_file", &self.token_file)
            .field("json", &self.json)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The admin tasks.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCommand {
    /// Create the admin account of a server that has none yet (first run).
    InitUser(InitUserArgs),
    /// Log in as the admin and save the token for this server (or print it with --print).
    Login(LoginArgs),
    /// Database configurations.
    #[command(subcommand)]
    Db(DbCommand),
    /// Counters.
    #[command(subcommand)]
    Counters(CountersCommand),
    /// Segment configurations (custom counters).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Allocation tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

impl Connection {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }

    /// A client of the server, without a token.
    fn anonymous(&self) -> Result<Api, CliError> {
        Api::new(&self.server, self.timeout(), self.ca_file.as_deref())
    }

    /// The server's API with the admin's token: `--token` / `KXY_TOKEN`, else the one saved
    /// for this server; without either, an auth failure.
    fn api(&self) -> Result<Api, CliError> {
        let api = self.anonymous()?;
        let base = api.base();
        let token = match self.token.clone().filter(|t| !t.is_empty()) {
            Some(token) => token,
            None => token::saved(&token::token_file(self.token_file.as_deref())?, base)?
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Auth,
                        format!(
                            "not logged in to {base}: run `kxy-id-server admin login` or set KXY_TOKEN"
                        ),
                    )
                })?,
        };
        Ok(api.with_token(token))
    }
}

/// Runs an admin command; prints its result on standard output, a failure on standard error,
/// and returns the [`Exit`] code.
pub async fn run_admin(args: &AdminArgs) -> ExitCode {
    match dispatch(args).await {
        Ok(()) => Exit::Ok.code(),
        Err(e) => {
            eprintln!("kxy-id-server: {e}");
            e.exit.code()
        }
    }
}

async fn dispatch(args: &AdminArgs) -> Result<(), CliError> {
    let connection = &args.connection;
    let json = connection.json;
    match &args.command {
        AdminCommand::InitUser(init) => login::init_user(connection, init).await,
        AdminCommand::Login(login) => login::run(connection, login).await,
        AdminCommand::Db(command) => db::run(&connection.api()?, json, command).await,
        AdminCommand::Counters(command) => counters::run(&connection.api()?, json, command).await,
        AdminCommand::Config(command) => config::run(&connection.api()?, json, command).await,
        AdminCommand::Tokens(command) => tokens::run(&connection.api()?, json, command).await,
    }
}
