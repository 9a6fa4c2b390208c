//! Secrets a command needs (the admin's password, a database's password) from a source that
//! leaves no trace in the process list or shell history: the first line of standard input, or
//! an environment variable. Never from an argument.

use std::io::BufRead;

use super::exit::{CliError, Exit};

/// The secret on standard input (`from_stdin`), else in the variable `env`, else `None`.
///
/// Standard input gives its first line without the line ending; an empty standard input is a
/// usage error (the pipe that should have carried the secret carried nothing).
pub(crate) fn secret(from_stdin: bool, env: &str) -> Result<Option<String>, CliError> {
    if from_stdin {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::new(Exit::Local, format!("standard input: {e}")))?;
        if read == 0 {
            return Err(CliError::new(
                Exit::Usage,
                "--password-stdin: standard input is empty",
            ));
        }
        let end = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(end);
        return Ok(Some(line));
    }
    match std::env::var(env) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::new(
            Exit::Usage,
            format!("{env} is not valid UTF-8"),
        )),
    }
}
