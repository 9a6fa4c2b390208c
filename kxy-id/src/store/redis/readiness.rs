//! Before a key is used on a connection: checking its counter against its durable mark in the
//! current Redis incarnation, or refusing an unrecovered Redis; and `recover` for operators.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use super::allocator::RedisAllocator;
use super::connection::Checked;
use super::guard::{FLOOR_KEY, RECOVERED_KEY};
use crate::allocator::{Counter, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

impl RedisAllocator {
    /// A connection on which `key` may be used: checked against its durable mark in the
    /// current Redis incarnation, or (without marks) refused when Redis changed unrecovered.
    pub(super) async fn ready(&self, key: &SegmentKey) -> Result<Checked> {
        let checked = self.conn.checked_for(&self.redis_key(key)).await?;
        let (mut conn, generation) = (checked.conn.clone(), checked.generation);
        if let Some(marks) = self.guard.marks() {
            if let Some(distrust) = self.guard.needs_verify(key, generation) {
                self.verify(&mut conn, &checked, key, marks.as_ref(), distrust)
                    .await?;
            }
        } else if self.conn.is_cluster() {
            // A cluster fails over by design; refusing after every failover until an operator
            // recovers would stop it each time, and `recover` needs one node.
            return Err(Error::InvalidConfig(format!(
                "the Redis Cluster store at {} needs a durable store (--durable-store) for its \
                 high-water marks",
                self.conn.target()
            )));
        } else {
            let recovered =
                self.guard.is_refusing(generation) && self.recovered_incarnation(&mut conn).await?;
            self.guard
                .check_generation(generation, self.conn.target(), recovered)?;
        }
        Ok(checked)
    }

    /// Checks the counter of `key` against its durable mark in this Redis incarnation.
    ///
    /// A marker key beside the counter records the `run_id` of the Redis process in which
    /// the counter was last raised to its mark. When it names this very process, nothing was
    /// lost since (a process that lost data is another process, with another `run_id`, and
    /// every allocation since was covered by a mark), so a server that starts does not
    /// leave a gap. Otherwise the counter is raised to the mark first.
    async fn verify(
        &self,
        conn: &mut MultiplexedConnection,
        checked: &Checked,
        key: &SegmentKey,
        marks: &dyn SegmentAllocator,
        distrust: bool,
    ) -> Result<()> {
        let (run_id, generation) = (&checked.run_id, checked.generation);
        let marker: Option<String> = conn
            .get(self.marker_key(key))
            .await
            .map_err(|e| self.conn.error(e))?;
        if !distrust && marker.as_deref() == Some(run_id.as_str()) {
            self.guard.verified(key, generation, Some(0));
            return Ok(());
        }
        let mark = marks.get(key).await?;
        self.raise_to_mark(conn, run_id, key, mark).await?;
        self.guard.verified(key, generation, mark);
        Ok(())
    }

    /// Raises the counter of `key` to `mark` (if any) and records in its marker that the
    /// process `run_id` holds a counter covered by the durable marks (when the counter exists).
    pub(super) async fn raise_to_mark(
        &self,
        conn: &mut MultiplexedConnection,
        run_id: &str,
        key: &SegmentKey,
        mark: Option<i64>,
    ) -> Result<()> {
        let (status, raw): (String, String) = self
            .verify
            .key(self.redis_key(key))
            .key(self.marker_key(key))
            .arg(run_id)
            .arg(mark.map(|m| m.to_string()).unwrap_or_default())
            .invoke_async(conn)
            .await
            .map_err(|e| self.conn.error(e))?;
        if status != "ok" {
            return Err(Error::CorruptCounter {
                key: key.to_string(),
                value: raw,
            });
        }
        Ok(())
    }

    /// Whether `recover` recorded the incarnation this connection reaches.
    async fn recovered_incarnation(&self, conn: &mut MultiplexedConnection) -> Result<bool> {
        let recorded: Option<String> = conn
            .get(RECOVERED_KEY)
            .await
            .map_err(|e| self.conn.error(e))?;
        let current = self.conn.incarnation().map(|i| i.run_id);
        Ok(recorded.is_some() && recorded == current)
    }

    /// The floor a recovery set: no counter is created or raised below it afterwards.
    pub(super) async fn floor(&self, conn: &mut MultiplexedConnection) -> Result<i64> {
        if self.conn.is_cluster() {
            // `recover` (which sets the floor) runs on one node only.
            return Ok(0);
        }
        let floor: Option<i64> = conn.get(FLOOR_KEY).await.map_err(|e| self.conn.error(e))?;
        Ok(floor.unwrap_or(0))
    }

    /// Recovers from a Redis that lost data when no durable store is configured: raises every
    /// counter by `margin`, makes `margin` the floor of counters created later (lazy
    /// initialization of a key whose counter was lost starts above it), and records the current
    /// Redis incarnation as recovered, so servers that refused allocations resume.
    ///
    /// `margin` must exceed the largest ID that may have been handed out and lost; it is the
    /// operator's statement, not something this call can check.
    pub async fn recover(&self, margin: i64) -> Result<Vec<Counter>> {
        crate::key::check_value(margin)?;
        let (mut conn, _) = self.conn.single()?.checked().await?;
        let _: () = conn
            .set(FLOOR_KEY, margin.to_string())
            .await
            .map_err(|e| self.conn.error(e))?;
        let mut raised = Vec::new();
        for counter in self.list("").await? {
            let key = SegmentKey::parse(&counter.key)?;
            let value = counter.value.saturating_add(margin);
            self.raise_on(&mut conn, &key, value).await?;
            raised.push(Counter {
                key: counter.key,
                value,
            });
        }
        let run_id = self
            .conn
            .incarnation()
            .map(|i| i.run_id)
            .unwrap_or_default();
        let _: () = conn
            .set(RECOVERED_KEY, run_id)
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(raised)
    }
}
