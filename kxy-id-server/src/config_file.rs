//! The config file (`--config FILE` or `KXY_CONFIG`, TOML).
//!
//! Every option of [`Settings`] has a key: its long flag name without the leading dashes
//! (`--tls-cert` → `tls-cert`, `--durable-store` → `durable-store`), so an option added to
//! `Settings` has a key with nothing else to do. A value is a string, an integer or a
//! boolean, checked by the option's own parser. The file's values become the options'
//! defaults before the command line is parsed, which gives the precedence
//! flags > environment (`.env` included) > file > built-in defaults.
//!
//! `config check` prints [`Origin`]s: every option's value in effect, masked where secret,
//! and where it came from.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::settings::Settings;

/// Options that are not settings: clap's own, and the file's name.
const NOT_KEYS: [&str; 3] = ["help", "version", "config"];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The command line or environment (clap's message, with `--help` and `--version`).
    #[error("{0}")]
    Clap(#[from] clap::Error),
    /// The config file: unreadable, not TOML, an unknown key or a bad value.
    #[error("{0}")]
    File(String),
}

/// One option in effect, for `config check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The key (and flag name without dashes).
    pub(crate) key: String,
    /// The value, masked when it is a secret; `None` when unset.
    pub(crate) shown: Option<String>,
    /// `flag`, `environment (NAME)`, `file` or `default`.
    pub(crate) source: String,
}

/// Flags, environment and config file into [`Settings`].
pub(crate) fn load<I, T>(args: I) -> Result<Settings, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = Settings::command();
    let file = match config_path(&args) {
        Some(path) => read(&path)?,
        None => BTreeMap::new(),
    };
    for (key, value) in &file {
        command = command.mut_arg(key.as_str(), |arg| arg.default_value(value.clone()));
    }
    let matches = command.try_get_matches_from_mut(args)?;
    let mut settings = Settings::from_arg_matches(&matches)?;
    settings.origins = command
        .get_arguments()
        .filter(|arg| !NOT_KEYS.contains(&arg.get_id().as_str()))
        .map(|arg| {
            let id = arg.get_id().as_str();
            let shown = matches
                .get_raw(id)
                .and_then(|mut values| values.next())
                .map(|value| mask(arg, &value.to_string_lossy()));
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => "flag".to_owned(),
                Some(ValueSource::EnvVariable) => match arg.get_env() {
                    Some(name) => format!("environment ({})", name.to_string_lossy()),
                    None => "environment".to_owned(),
                },
                Some(ValueSource::DefaultValue) if file.contains_key(id) => "file".to_owned(),
                _ => "default".to_owned(),
            };
            Origin {
                key: key_of(arg),
                shown,
                source,
            }
        })
        .collect();
    Ok(settings)
}

/// The key of an option: its long name (clap derives it from the field name).
fn key_of(arg: &clap::Arg) -> String {
    arg.get_long()
        .map(str::to_owned)
        .unwrap_or_else(|| arg.get_id().to_string())
}

/// The config file named by `--config` or `KXY_CONFIG`: a first, lenient parse only for it.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let matches = Settings::command()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .ok()?;
    matches.get_one::<PathBuf>("config").cloned()
}

/// The file's values by option id, each checked by the option's parser.
fn read(path: &Path) -> Result<BTreeMap<String, String>, LoadError> {
    let fail = |why: String| LoadError::File(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| fail(format!("not valid TOML: {e}")))?;
    let command = Settings::command();
    let mut values = BTreeMap::new();
    let mut secrets = false;
    for (key, value) in table {
        let Some(arg) = command.get_arguments().find(|arg| {
            !NOT_KEYS.contains(&arg.get_id().as_str()) && arg.get_long() == Some(key.as_str())
        }) else {
            let hint = match command.get_arguments().find(|a| {
                a.get_long() == Some(key.replace('_', "-").as_str())
                    && !NOT_KEYS.contains(&a.get_id().as_str())
            }) {
                Some(a) => format!(" (did you mean `{}`?)", key_of(a)),
                None => String::new(),
            };
            return Err(fail(format!("unknown key `{key}`{hint}")));
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(fail(format!(
                    "`{key}` must be a string, an integer or a boolean, not {}",
                    other.type_str()
                )));
            }
        };
        let secret = arg.is_hide_env_values_set();
        secrets |= secret;
        if let Err(reason) = check_value(arg, &text) {
            let shown = if secret {
                String::new()
            } else {
                format!(" {text:?}")
            };
            return Err(fail(format!("`{key}`: invalid value{shown}: {reason}")));
        }
        values.insert(arg.get_id().to_string(), text);
    }
    if secrets {
        warn_if_readable(path);
    }
    Ok(values)
}

/// Parses `value` as `arg` would on the command line, alone (no environment, no default):
/// an invalid default would otherwise only fail later, without naming the file.
fn check_value(arg: &clap::Arg, value: &str) -> Result<(), String> {
    let alone = arg
        .clone()
        .global(false)
        .required(false)
        .env(None::<&'static str>)
        .default_value(None::<&'static str>);
    // `--key=value`: a value starting with `-` stays a value.
    let args: Vec<String> = if arg.get_action().takes_values() {
        vec![format!("--{}={value}", key_of(arg))]
    } else {
        match value {
            "true" => vec![format!("--{}", key_of(arg))],
            "false" => vec![],
            _ => return Err("expected true or false".to_owned()),
        }
    };
    clap::Command::new("check")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from(args)
        .map(drop)
        .map_err(|e| {
            std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_else(|| first_line(&e.to_string()))
        })
}

/// The first line of a clap message, without its `error: ` prefix.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// A file holding secrets should not be readable by every user of the host.
fn warn_if_readable(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o004 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the config file holds secrets and every user can read it: chmod o-r (0640 or 0600)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// How `config check` shows a value: secrets (the options whose environment values clap
/// hides) as `<redacted>`, passwords inside URLs (each of a comma-separated list) as `***`.
fn mask(arg: &clap::Arg, value: &str) -> String {
    if arg.is_hide_env_values_set() {
        return crate::redact::REDACTED.to_owned();
    }
    if value.contains("://") {
        return value
            .split(',')
            .map(kxy_id::redact_url)
            .collect::<Vec<_>>()
            .join(",");
    }
    value.to_owned()
}

/// `config check`: the configuration in effect as TOML-like lines, each with its source,
/// after checking that the TLS files (when set) load.
pub(crate) fn check(settings: &Settings) -> Result<String, kxy_id::Error> {
    if let Some(tls) = settings.tls()? {
        crate::Tls::load(tls)?;
    }
    let mut out = String::new();
    out.push_str(&match &settings.config {
        Some(path) => format!("# {} is valid.\n", path.display()),
        None => "# No config file (--config or KXY_CONFIG).\n".to_owned(),
    });
    out.push_str("# In effect (flags > environment > file > defaults; secrets masked):\n");
    for origin in &settings.origins {
        match &origin.shown {
            Some(value) => out.push_str(&format!(
                "{} = {}  # {}\n",
                origin.key,
                toml::Value::String(value.clone()),
                origin.source
            )),
            None => out.push_str(&format!("# {} is not set\n", origin.key)),
        }
    }
    out.push_str(&format!(
        "# store in effect: {}\n",
        kxy_id::redact_url(&settings.store_url())
    ));
    Ok(out.trim_end().to_owned())
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
mod tests;
