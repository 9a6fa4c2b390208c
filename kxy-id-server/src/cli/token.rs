//! Where the admin's token comes from: `--token` / `KXY_TOKEN`, or the token file `login`
//! wrote, which keeps one token per server URL so that a token is only ever sent to the
//! server that issued it.
//!
//! The file is JSON (`{"http://host:5801": "<token>", ...}`) at `--token-file`,
//! `$KXY_TOKEN_FILE`, `$XDG_CONFIG_HOME/kxy-id/tokens.json` or
//! `~/.config/kxy-id/tokens.json`, in a directory of mode 0700 and with mode 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::exit::{CliError, Exit};

/// The token file in effect: `explicit`, else under the user's config directory.
pub(crate) fn token_file(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .ok_or_else(|| {
            CliError::new(
                Exit::Usage,
                "neither XDG_CONFIG_HOME nor HOME is set: give --token-file",
            )
        })?;
    Ok(config.join("kxy-id").join("tokens.json"))
}

/// The tokens saved in `path` (none when it does not exist).
fn read(path: &Path) -> Result<BTreeMap<String, String>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            CliError::new(
                Exit::Local,
                format!("{} is not a token file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(local(path, e)),
    }
}

/// The token saved for `server` in `path`, if any.
pub(crate) fn saved(path: &Path, server: &str) -> Result<Option<String>, CliError> {
    Ok(read(path)?.remove(server))
}

/// Saves `token` for `server` in `path`, keeping the other servers' tokens. The file is
/// replaced whole (written beside it, then renamed), so a reader never sees half of it.
pub(crate) fn save(path: &Path, server: &str, token: &str) -> Result<(), CliError> {
    let mut tokens = read(path)?;
    tokens.insert(server.to_owned(), token.to_owned());
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(|e| local(dir, e))?;
    let json = serde_json::to_string_pretty(&tokens).expect("tokens serialize");
    let temporary = path.with_extension("json.tmp");
    write_private(&temporary, json.as_bytes()).map_err(|e| local(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| local(path, e))
}

fn local(path: &Path, e: std::io::Error) -> CliError {
    CliError::new(Exit::Local, format!("{}: {e}", path.display()))
}

/// Creates `dir` (and its parents) only its owner may enter, if it does not exist.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path`, created (or truncated) with mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_per_server_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("tokens.json");
        assert_eq!(saved(&path, "http://a").unwrap(), None);
        save(&path, "http://a", "ta").unwrap();
        save(&path, "http://b", "tb").unwrap();
        save(&path, "http://a", "ta2").unwrap();
        assert_eq!(saved(&path, "http://a").unwrap().as_deref(), Some("ta2"));
        assert_eq!(saved(&path, "http://b").unwrap().as_deref(), Some("tb"));
        assert_eq!(saved(&path, "http://c").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(saved(&path, "http://a").unwrap_err().exit, Exit::Local);
    }
}
