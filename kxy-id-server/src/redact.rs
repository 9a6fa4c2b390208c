//! How secrets look in `Debug` output (the settings are logged at start-up): never their
//! value, only whether one is set.

/// What a `Debug` impl shows in place of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// [`REDACTED`] for a secret that is set, `<none>` for one that is not.
pub(crate) fn secret<T>(value: &Option<T>) -> &'static str {
    if value.is_some() { REDACTED } else { "<none>" }
}
