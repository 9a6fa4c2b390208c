//! How Oracle's errors (the driver reports them as text with a code) become [`Error`]s, and
//! what to tell an operator whose machine lacks Oracle Instant Client.

use crate::error::Error;

/// What to do when Oracle Instant Client cannot be loaded.
pub(crate) const INSTANT_CLIENT_HELP: &str = "Oracle Instant Client is missing: the oracle connector \
     loads it at run time. Download the \"Basic\" or \"Basic Light\" package (19c or later) for \
     your platform from https://www.oracle.com/database/technologies/instant-client/downloads.html, \
     unzip it (e.g. to /opt/oracle/instantclient_23_5), install libaio (libaio1 / libaio1t64 on \
     Debian and Ubuntu), and make the directory known to the loader before starting the server: \
     `export LD_LIBRARY_PATH=/opt/oracle/instantclient_23_5:$LD_LIBRARY_PATH` (or add it to \
     /etc/ld.so.conf.d/ and run ldconfig; on macOS put the libraries in ~/lib)";

/// An error while connecting: Instant Client missing is [`Error::Unsupported`] with
/// [`INSTANT_CLIENT_HELP`]; anything else [`Error::Connect`].
pub(crate) fn connect_error(target: &str, message: &str) -> Error {
    if message.contains("DPI-1047") || message.contains("libclntsh") {
        Error::Unsupported(format!("{INSTANT_CLIENT_HELP}. Cause: {message}"))
    } else {
        Error::Connect {
            target: target.to_owned(),
            reason: message.to_owned(),
        }
    }
}

/// An error of a statement: a lost connection is [`Error::Connect`]; a missing table (ORA-00942)
/// or column (ORA-00904) [`Error::NotFound`]; the rest backend errors.
pub(crate) fn map_error(target: &str, message: &str) -> Error {
    const LOST: [&str; 7] = [
        "ORA-03113",
        "ORA-03114",
        "ORA-03135",
        "ORA-12170",
        "ORA-12541",
        "DPI-1010",
        "DPI-1080",
    ];
    if message.contains("DPI-1047") {
        connect_error(target, message)
    } else if LOST.iter().any(|code| message.contains(code)) {
        Error::Connect {
            target: target.to_owned(),
            reason: message.to_owned(),
        }
    } else if message.contains("ORA-00942") || message.contains("ORA-00904") {
        Error::NotFound(message.to_owned())
    } else {
        Error::backend_msg("oracle", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_mapped_by_code() {
        let missing = "DPI-1047: Cannot locate a 64-bit Oracle Client library: \"libclntsh.so: cannot open shared object file: No such file or directory\"";
        match connect_error("h:1521", missing) {
            Error::Unsupported(msg) => {
                assert!(msg.starts_with("Oracle Instant Client is missing"), "{msg}");
                assert!(
                    msg.contains("LD_LIBRARY_PATH") && msg.ends_with(missing),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            connect_error("h:1521", "ORA-12541: TNS:no listener"),
            Error::Connect { target, .. } if target == "h:1521"
        ));
        assert!(matches!(
            map_error("h:1521", "ORA-03113: end-of-file on communication channel"),
            Error::Connect { .. }
        ));
        assert!(matches!(
            map_error("h:1521", "ORA-00942: table or view does not exist"),
            Error::NotFound(_)
        ));
        assert!(matches!(
            map_error("h:1521", "ORA-00904: \"X\": invalid identifier"),
            Error::NotFound(_)
        ));
        assert!(matches!(
            map_error("h:1521", "ORA-01031: insufficient privileges"),
            Error::Backend { .. }
        ));
    }
}
