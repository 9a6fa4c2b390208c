//! The admin CLI's exit codes, one per class of failure, and how a server's answer maps onto
//! them: scripts branch on the code, people read the message on standard error.

use std::fmt;

use kxy_id::wire::{ErrorCode, Failure};

/// How an admin command ended; the process exits with its number.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | a local failure (the token file or standard input could not be read or written) |
/// | 2 | usage: a missing or malformed argument (also clap's own usage errors) |
/// | 3 | auth refused: no token, an invalid or expired token, a wrong name or password, too many failed logins |
/// | 4 | not found: an unknown guid, or a discovered table that is not there |
/// | 5 | conflict or invalid input: the server refused the request as asked (400, 409, 422) |
/// | 6 | server unreachable: no connection, or no answer within `--timeout` |
/// | 7 | server error: a 5xx, or an answer that is not the API's |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: the command did what it was asked.
    Ok = 0,
    /// 1: a local file or standard input failed.
    Local = 1,
    /// 2: the command line is wrong.
    Usage = 2,
    /// 3: the server refused the credentials (or there were none).
    Auth = 3,
    /// 4: the server does not know what the command names.
    NotFound = 4,
    /// 5: the server refused the request as asked (an existing key, a bad value, ...).
    Invalid = 5,
    /// 6: the server could not be reached or did not answer in time.
    Unreachable = 6,
    /// 7: the server failed, or answered something that is not the API.
    Server = 7,
}

impl Exit {
    /// The process's exit code.
    pub(crate) fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self as u8)
    }
}

/// A failed admin command: its class and what to tell the operator.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// The class of a server's refusal or failure, from `url`.
    pub(crate) fn from_failure(url: &str, failure: Failure) -> Self {
        match failure {
            Failure::Refused { code, msg } => CliError::new(envelope_exit(code), msg),
            Failure::Unprocessable { detail } => {
                CliError::new(Exit::Invalid, format!("invalid request: {detail}"))
            }
            Failure::HttpStatus { status, body } => {
                // The 401s of a missing or bad token carry FastAPI's `{"detail": "..."}`.
                let detail = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
                    .unwrap_or(body);
                let exit = match status {
                    401 | 403 | 429 => Exit::Auth,
                    // A path this server does not have: not a kxy-id server, or an older one.
                    404 => Exit::Server,
                    400..=499 => Exit::Invalid,
                    _ => Exit::Server,
                };
                CliError::new(exit, format!("HTTP {status} from {url}: {detail}"))
            }
            other => CliError::new(
                Exit::Server,
                format!("{url} answered outside the API: {other}"),
            ),
        }
    }
}

/// The class of an envelope's `code`.
fn envelope_exit(code: ErrorCode) -> Exit {
    match code {
        ErrorCode::Unauthorized | ErrorCode::Other(403 | 429) => Exit::Auth,
        ErrorCode::NotFound => Exit::NotFound,
        ErrorCode::BadRequest | ErrorCode::Conflict => Exit::Invalid,
        ErrorCode::Other(400..=499) => Exit::Invalid,
        _ => Exit::Server,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: i64) -> Exit {
        let failure = Failure::Refused {
            code: ErrorCode::from_code(code),
            msg: String::new(),
        };
        CliError::from_failure("u", failure).exit
    }

    #[test]
    fn envelope_codes_map_to_their_class() {
        assert_eq!(refused(401), Exit::Auth);
        assert_eq!(refused(429), Exit::Auth);
        assert_eq!(refused(404), Exit::NotFound);
        assert_eq!(refused(400), Exit::Invalid);
        assert_eq!(refused(409), Exit::Invalid);
        assert_eq!(refused(500), Exit::Server);
        assert_eq!(refused(503), Exit::Server);
    }

    #[test]
    fn http_statuses_map_to_their_class_with_the_detail() {
        let e = CliError::from_failure(
            "http://h/api/database/list",
            Failure::HttpStatus {
                status: 401,
                body: r#"{"detail":"Invalid or expired token"}"#.into(),
            },
        );
        assert_eq!(e.exit, Exit::Auth);
        assert!(e.message.ends_with(": Invalid or expired token"), "{e}");
        let status = |status| {
            let body = String::new();
            CliError::from_failure("u", Failure::HttpStatus { status, body }).exit
        };
        assert_eq!(status(404), Exit::Server);
        assert_eq!(status(413), Exit::Invalid);
        assert_eq!(status(502), Exit::Server);
        let detail = "[]".to_owned();
        let e = CliError::from_failure("u", Failure::Unprocessable { detail });
        assert_eq!(e.exit, Exit::Invalid);
    }
}
