//! `admin init-user` and `admin login`: the admin account of a new server, and a token for
//! the admin's name and password, saved for the server (or printed with `--print`).

use kxy_id::wire::admin::{INIT_USER_PATH, InitUserAnswer, LOGIN_PATH, LoginAnswer, LoginRequest};
use serde_json::json;

use super::exit::{CliError, Exit};
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

/// `admin init-user`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitUserArgs {
    /// The admin's user name (3 to 50 characters).
    #[arg(long, env = "KXY_USER")]
    pub user: String,

    /// Read the password (6 to 100 characters) from the first line of standard input; without
    /// it the password comes from the KXY_PASSWORD environment variable.
    #[arg(long)]
    pub password_stdin: bool,
}

/// The admin's name and the password from standard input or `KXY_PASSWORD`.
fn credentials(user: &str, password_stdin: bool) -> Result<LoginRequest, CliError> {
    let password = input::secret(password_stdin, "KXY_PASSWORD")?.ok_or_else(|| {
        CliError::new(
            Exit::Usage,
            "no password: pipe it in with --password-stdin or set KXY_PASSWORD",
        )
    })?;
    Ok(LoginRequest {
        username: user.to_owned(),
        password,
    })
}

pub(crate) async fn init_user(
    connection: &Connection,
    args: &InitUserArgs,
) -> Result<(), CliError> {
    let request = credentials(&args.user, args.password_stdin)?;
    let api = connection.anonymous()?;
    let created: InitUserAnswer = api.post(INIT_USER_PATH, Some(&request)).await?.data;
    let line = format!("created the admin {} on {}", created.username, api.base());
    print(connection.json, &created, Output::Line(line));
    Ok(())
}

pub(crate) async fn run(connection: &Connection, args: &LoginArgs) -> Result<(), CliError> {
    let request = credentials(&args.user, args.password_stdin)?;
    let api = connection.anonymous()?;
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
