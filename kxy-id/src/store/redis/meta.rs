//! [`RedisMetaStore`]: metadata in Redis, in the old service's key layout.

use std::time::Duration;

use ::redis::AsyncCommands;
use async_trait::async_trait;

use super::connection::RedisConnection;
use crate::error::Result;
use crate::store::meta::MetaStore;

/// Metadata in Redis, in the old service's key layout (values are strings, discovered
/// tables are Redis sets of JSON).
#[derive(Clone)]
pub struct RedisMetaStore {
    /// The shared connection (usually [`RedisAllocator::connection`](crate::RedisAllocator::connection)).
    conn: RedisConnection,
}

impl std::fmt::Debug for RedisMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisMetaStore").finish_non_exhaustive()
    }
}

impl RedisMetaStore {
    /// Uses an existing connection.
    pub fn new(conn: RedisConnection) -> Self {
        RedisMetaStore { conn }
    }
}

#[async_trait]
impl MetaStore for RedisMetaStore {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        self.conn
            .clone()
            .get(name)
            .await
            .map_err(|e| self.conn.error(e))
    }

    async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(name).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        cmd.query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.conn.error(e))
    }

    async fn set_if_absent(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(name).arg(value).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        let reply: Option<String> = cmd
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(reply.is_some())
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        let n: i64 = self
            .conn
            .clone()
            .del(name)
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(n > 0)
    }

    async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool> {
        let script = ::redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        let n: i64 = script
            .key(name)
            .arg(value)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(n > 0)
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        super::scan::scan_values(&self.conn, prefix).await
    }

    async fn members(&self, name: &str) -> Result<Vec<String>> {
        let mut members: Vec<String> = self
            .conn
            .clone()
            .smembers(name)
            .await
            .map_err(|e| self.conn.error(e))?;
        members.sort();
        Ok(members)
    }

    async fn replace_members(&self, name: &str, members: &[String]) -> Result<()> {
        let mut pipe = ::redis::pipe();
        pipe.atomic().del(name).ignore();
        if !members.is_empty() {
            pipe.sadd(name, members).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.conn.error(e))
    }

    async fn remove_member(&self, name: &str, member: &str) -> Result<bool> {
        let n: i64 = self
            .conn
            .clone()
            .srem(name, member)
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::{allocator::unique_prefix, meta::meta_store_conforms};

    #[tokio::test]
    async fn redis_meta_store_conforms() {
        let Some(url) = crate::testing::redis_url().await else {
            return;
        };
        let alloc = crate::RedisAllocator::connect(&url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = super::RedisMetaStore::new(alloc.connection());
        meta_store_conforms(&store, &unique_prefix()).await;
    }
}
