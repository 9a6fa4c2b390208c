//! The skeleton every scenario shares: it waits for the others (they run one at a time), works
//! in a temporary directory of its own, starts its two servers, sets up its keys and starts the
//! load. What stays in each scenario is its store, its faults and its checks.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::load::Key;
use super::redis::{RedisServer, installed};
use super::servers::Servers;
use crate::{Run, custom_keys, login, store_flags};

/// Scenarios run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// A scenario under way: holds the others off and its temporary directory until dropped.
pub struct Scenario {
    // Dropped first: the directory goes before the next scenario may start.
    dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl Scenario {
    /// Waits until no other scenario runs; a fresh temporary directory.
    pub fn new() -> Scenario {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("kxy-chaos-")
            .tempdir()
            .expect("a temporary directory");
        Scenario {
            dir,
            _serial: serial,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A Redis of the scenario's own in the directory `name`, `None` after a NOTICE when
    /// `redis-server` is missing.
    pub fn redis(&self, name: &str, args: &[&str]) -> Option<RedisServer> {
        installed().then(|| RedisServer::start(&self.dir().join(name), args))
    }

    /// Starts one server per entry of `flags`, sets up the keys on server 0 (`keys` is given
    /// its address) and starts the load on them; `increasing` checks each client's ranges per
    /// key are increasing (see [`Run::increasing`]).
    pub fn start(
        &self,
        name: &str,
        flags: &[Vec<String>],
        increasing: bool,
        keys: impl FnOnce(&str) -> Vec<Key>,
    ) -> (Servers, Run) {
        let servers = Servers::start(self.dir(), flags);
        let keys = keys(&servers.addr(0));
        let mut run = Run::start(name, &servers.targets, &keys);
        run.increasing = increasing;
        (servers, run)
    }

    /// [`Scenario::start`] of two servers alike: on `store`, with `extra` flags.
    pub fn start_two(
        &self,
        name: &str,
        store: &str,
        extra: &[&str],
        increasing: bool,
        keys: impl FnOnce(&str) -> Vec<Key>,
    ) -> (Servers, Run) {
        let f = store_flags(store, extra);
        self.start(name, &[f.clone(), f], increasing, keys)
    }
}

/// Four custom sequences of a system of their own, set up by the admin (logged in on `addr`).
pub fn four_custom_keys(addr: &str) -> Vec<Key> {
    let token = login(addr);
    custom_keys(addr, &token, &kxy_id::testing::unique_name(), 4)
}
