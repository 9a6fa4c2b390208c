//! The login brake: after a few failed attempts per user name and per client address, logins
//! are refused (429 with `Retry-After`) until a lock-out has passed, before any password is
//! hashed or decrypted.
//!
//! An attempt counts when it starts, and only a success takes it back: 200 parallel guesses
//! cannot slip past the limit while the first ones are still being checked. Each dimension
//! keeps at most [`MAX_ENTRIES`] entries and evicts the oldest first, so a flood of new user
//! names or addresses cannot wipe the record of the one under attack.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept per dimension (user names, client addresses).
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// How long a record of failures lasts after its last attempt.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The first lock-out; it doubles with every further failure, up to [`MAX_LOCKOUT`].
const FIRST_LOCKOUT: Duration = Duration::from_secs(60);

/// The longest lock-out.
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// Attempts of one user name or address.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Attempts not taken back by a success.
    attempts: u32,
    /// The last attempt.
    last: Instant,
    /// No attempt before this.
    locked_until: Option<Instant>,
}

/// One dimension: records by name, least recently attempted first in `order`.
#[derive(Debug, Default)]
struct Table {
    records: HashMap<String, Record>,
    /// (name, its `last` when queued); an entry whose record has moved on is stale and
    /// skipped, which makes eviction least-recently-used without a linked list.
    order: VecDeque<(String, Instant)>,
}

impl Table {
    /// The record of `name`, expired ones dropped.
    fn get(&mut self, name: &str, now: Instant) -> Option<Record> {
        match self.records.get(name) {
            Some(r) if now.duration_since(r.last) > WINDOW => {
                self.records.remove(name);
                None
            }
            other => other.copied(),
        }
    }

    fn put(&mut self, name: &str, record: Record) {
        self.records.insert(name.to_owned(), record);
        self.order.push_back((name.to_owned(), record.last));
        while self.records.len() > MAX_ENTRIES {
            let Some((oldest, queued)) = self.order.pop_front() else {
                break;
            };
            if self.records.get(&oldest).is_some_and(|r| r.last == queued) {
                self.records.remove(&oldest);
            }
        }
        if self.order.len() > 2 * MAX_ENTRIES {
            let records = &self.records;
            self.order
                .retain(|(n, queued)| records.get(n).is_some_and(|r| r.last == *queued));
        }
    }

    fn remove(&mut self, name: &str) {
        self.records.remove(name);
    }
}

/// Failed logins per user name and per client address.
#[derive(Debug)]
pub(crate) struct LoginBrake {
    /// Attempts allowed before the lock-out starts.
    free_attempts: u32,
    /// (by user name, by client address).
    tables: Mutex<(Table, Table)>,
}

/// A refused attempt: retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// Seconds until the lock-out ends.
    pub(crate) retry_after: u64,
}

impl LoginBrake {
    /// A brake that locks a user name or address out after `free_attempts` failures.
    pub(crate) fn new(free_attempts: u32) -> Self {
        LoginBrake {
            free_attempts: free_attempts.max(1),
            tables: Mutex::new((Table::default(), Table::default())),
        }
    }

    /// Counts an attempt of `user` from `client`, or refuses it while either is locked out.
    pub(crate) fn begin(&self, user: &str, client: Option<IpAddr>) -> Result<(), Refused> {
        let now = Instant::now();
        let client = client.map(|ip| ip.to_string());
        let mut guard = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let (users, clients) = &mut *guard;
        let mut current = [users.get(user, now), None];
        if let Some(ip) = &client {
            current[1] = clients.get(ip, now);
        }
        let wait = current
            .iter()
            .flatten()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = wait {
            // A refused attempt keeps the records fresh: the name under attack stays the most
            // recently used, whatever else floods in.
            let touch = |r: Option<Record>| r.map(|r| Record { last: now, ..r });
            if let Some(r) = touch(current[0]) {
                users.put(user, r);
            }
            if let (Some(ip), Some(r)) = (&client, touch(current[1])) {
                clients.put(ip, r);
            }
            return Err(Refused {
                retry_after: until.duration_since(now).as_secs().max(1),
            });
        }
        let bump = |r: Option<Record>| {
            let attempts = r.map_or(0, |r| r.attempts) + 1;
            let locked_until = (attempts >= self.free_attempts).then(|| {
                let doublings = (attempts - self.free_attempts).min(8);
                now + (FIRST_LOCKOUT * (1 << doublings)).min(MAX_LOCKOUT)
            });
            Record {
                attempts,
                last: now,
                locked_until,
            }
        };
        users.put(user, bump(current[0]));
        if let Some(ip) = &client {
            clients.put(ip, bump(current[1]));
        }
        Ok(())
    }

    /// Takes back the attempts of `user` and `client` after a successful login.
    pub(crate) fn succeeded(&self, user: &str, client: Option<IpAddr>) {
        let mut guard = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        guard.0.remove(user);
        if let Some(ip) = client {
            guard.1.remove(&ip.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_locked_out_after_the_free_attempts_and_a_success_clears_it() {
        let brake = LoginBrake::new(3);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            brake.begin("admin", ip).unwrap();
        }
        let refused = brake.begin("admin", None).unwrap_err();
        assert!(refused.retry_after >= 59, "{refused:?}");
        assert!(
            brake.begin("other", ip).is_err(),
            "the address is locked too"
        );
        assert!(
            brake.begin("other", None).is_ok(),
            "another user elsewhere is not"
        );
        brake.succeeded("admin", ip);
        assert!(brake.begin("admin", ip).is_ok());
    }

    #[test]
    fn a_flood_of_new_names_evicts_the_oldest_not_the_user_under_attack() {
        let brake = LoginBrake::new(2);
        brake.begin("admin", None).unwrap();
        brake.begin("admin", None).unwrap();
        for i in 0..3 * MAX_ENTRIES {
            let _ = brake.begin(&format!("u{i}"), None);
            if i % 1000 == 0 {
                assert!(brake.begin("admin", None).is_err(), "still locked at {i}");
            }
        }
        assert!(brake.begin("admin", None).is_err(), "still locked");
        assert!(brake.begin("u0", None).is_ok(), "the oldest was evicted");
        let tables = brake.tables.lock().unwrap();
        assert!(tables.0.records.len() <= MAX_ENTRIES);
        assert!(tables.0.order.len() <= 2 * MAX_ENTRIES + 1);
    }
}
