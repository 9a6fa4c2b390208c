//! What a Redis's own persistence settings promise, read at start for the log and `/health`.

use super::connection::RedisConnection;
use super::node::info_field;

/// The persistence settings of a Redis and what they mean for counters kept in it alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RedisDurability {
    /// `CONFIG GET appendonly` (`yes`/`no`), `None` when `CONFIG` is not allowed.
    pub appendonly: Option<String>,
    /// `CONFIG GET appendfsync` (`always`, `everysec`, `no`).
    pub appendfsync: Option<String>,
    /// `CONFIG GET save` (snapshot rules; empty when off).
    pub save: Option<String>,
    /// `master` or `slave`, from `INFO replication`.
    pub role: Option<String>,
    /// What a crash of this Redis can lose, in words.
    pub loss_window: String,
}

/// Reads the persistence settings of the Redis behind `conn`. Never fails: what cannot be read
/// (a managed Redis that renames `CONFIG`) is `None` and the loss window says "unknown".
pub async fn redis_durability(conn: &RedisConnection) -> RedisDurability {
    let mut conn = conn.clone();
    let mut config = async |name: &str| -> Option<String> {
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(&mut conn)
            .await
            .ok()?;
        pair.into_iter().nth(1)
    };
    let appendonly = config("appendonly").await;
    let appendfsync = config("appendfsync").await;
    let save = config("save").await;
    let info: Option<String> = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut conn)
        .await
        .ok();
    let role = info
        .as_deref()
        .and_then(|i| info_field(i, "role"))
        .map(str::to_owned);
    let loss_window = loss_window(
        appendonly.as_deref(),
        appendfsync.as_deref(),
        save.as_deref(),
    );
    RedisDurability {
        appendonly,
        appendfsync,
        save,
        role,
        loss_window,
    }
}

/// What a crash (`kill -9`, power loss) of a Redis with these settings can lose.
fn loss_window(appendonly: Option<&str>, appendfsync: Option<&str>, save: Option<&str>) -> String {
    match (appendonly, appendfsync, save) {
        (Some("yes"), Some("always"), _) => {
            "nothing acknowledged (appendfsync always); a failover can still lose what had not replicated".into()
        }
        (Some("yes"), Some("everysec"), _) => "up to about 1 second of increments (appendfsync everysec)".into(),
        (Some("yes"), _, _) => "whatever the operating system had not written yet (appendfsync no)".into(),
        (Some("no"), _, Some(save)) if !save.trim().is_empty() => {
            format!("everything since the last snapshot (save {save})")
        }
        (Some("no"), _, _) => "everything: no persistence, a restart comes back empty".into(),
        _ => "unknown (CONFIG GET is not allowed)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_windows_follow_the_settings() {
        assert!(loss_window(Some("yes"), Some("always"), Some("")).starts_with("nothing"));
        assert!(loss_window(Some("yes"), Some("everysec"), None).contains("1 second"));
        assert!(loss_window(Some("no"), None, Some("3600 1")).contains("snapshot"));
        assert!(loss_window(Some("no"), None, Some("")).starts_with("everything: no"));
        assert!(loss_window(None, None, None).starts_with("unknown"));
    }
}
