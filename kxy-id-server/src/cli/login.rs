//! `admin login`: a token for the admin's name and password, saved for the server (or
//! printed with `--print`).

use kxy_id::wire::admin::{LOGIN_PATH, LoginAnswer, LoginRequest};
use serde_json::json;

use super::exit::{CliError, Exit};
use super::http::Api;
use super::output::{Output, print};
use super::{Connection, input, token};

/// `admin login`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    /// The admin's user name.
    #[arg(long, env = "KXY_USER")]
    pub user: String,

    /// Read the password from the first line of standard input; without it the password
    /// comes from the KXY_PASSWORD environment variable.
    #[arg(long)]
    pub password_stdin: bool,

    /// Print the token on standard output instead of saving it in the token file.
    #[arg(long)]
    pub print: bool,
}

pub(crate) async fn run(connection: &Connection, args: &LoginArgs) -> Result<(), CliError> {
    let password = input::secret(args.password_stdin, "KXY_PASSWORD")?.ok_or_else(|| {
        CliError::new(
            Exit::Usage,
            "no password: pipe it in with --password-stdin or set KXY_PASSWORD",
        )
    })?;
    let api = Api::new(&connection.server, connection.timeout())?;
    let request = LoginRequest {
        username: args.user.clone(),
        password,
    };
    let login: LoginAnswer = api.post(LOGIN_PATH, Some(&request)).await?.data;
    if args.print {
        let data = json!({"username": login.username, "token": login.token});
        print(connection.json, &data, Output::Line(login.token.clone()));
        return Ok(());
    }
    let path = token::token_file(connection.token_file.as_deref())?;
    token::save(&path, api.base(), &login.token)?;
    let line = format!(
        "logged in to {} as {}; token saved in {}",
        api.base(),
        login.username,
        path.display()
    );
    let data = json!({"server": api.base(), "username": login.username, "token_file": path});
    print(connection.json, &data, Output::Line(line));
    Ok(())
}
