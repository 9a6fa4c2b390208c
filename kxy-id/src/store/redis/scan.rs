//! Reading every key under a prefix (`SCAN` + `MGET`), for listing counters and metadata.

use super::connection::RedisConnection;
use super::node::NodeConnection;

/// Every key starting with `prefix` (matched literally) and its string value, sorted by key,
/// from the node or every master of a cluster. Keys deleted between `SCAN` and `GET` are left
/// out.
pub(crate) async fn scan_values(
    conn: &RedisConnection,
    prefix: &str,
) -> crate::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for node in conn.scan_targets().await? {
        out.extend(scan_node(&node, prefix).await.map_err(|e| conn.error(e))?);
    }
    out.sort();
    Ok(out)
}

/// [`scan_values`] on one node.
async fn scan_node(
    node: &NodeConnection,
    prefix: &str,
) -> redis::RedisResult<Vec<(String, String)>> {
    let conn = &mut node.clone();
    let pattern = format!("{}*", glob_escape(prefix));
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        // One GET per key (not MGET): on a cluster the keys of one node span many slots.
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.get(key);
        }
        let values: Vec<Option<String>> = pipe.query_async(conn).await?;
        out.extend(
            chunk
                .iter()
                .cloned()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        );
    }
    Ok(out)
}

/// Escapes Redis glob characters so that `prefix` matches literally in `SCAN MATCH`.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
    }
}
