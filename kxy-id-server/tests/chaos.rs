//! The chaos suite: two real `kxy-id-server` processes under load from client threads while
//! servers, Redis, the network and the SQL stores fail; every range handed out is recorded and
//! no ID may be handed out twice.
//!
//! One `#[test]` per scenario; each prints one line (IDs handed out, repeats, client errors,
//! time to recover) and asserts that nothing repeated and that allocation recovered after every
//! fault. The time to recover of a fault runs from the moment it is in effect (the process is
//! dead, the connections are cut) until each server it affects answered an allocation requested
//! after that moment; it includes the healing (a restart) and, for a fault that lasts such as a
//! 6 s blackhole, the fault's own duration. Where
//! every allocation is one store operation (no reservation ahead), each client's ranges per
//! key must also be increasing.
//!
//! Scenarios run one at a time (they share two cores). `KXY_CHAOS_IDS` sets the IDs per
//! scenario (default 100,000; `KXY_CHAOS_IDS=10000000` is the long mode).
//!
//! Redis here is always a `redis-server` of the suite's own, on a free loopback port.

mod common;

mod chaos {
    pub mod check;
    pub mod load;
    pub mod proxy;
    pub mod redis;
    pub mod scenario;
    pub mod servers;
    pub mod sql;
}

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chaos::check;
use chaos::load::{Key, Load, LoadOptions};
use chaos::proxy::{Mode, Proxy};
use chaos::redis::{AOF, NO_PERSISTENCE, RDB, RedisServer};
use chaos::scenario::{Scenario, four_custom_keys};
use chaos::servers::{Servers, Targets, binary, flags};
use chaos::sql;
use common::raw_http::{admin_call, call, int};
use kxy_id::testing::TestDatabase;
use serde_json::{Value, json};

/// IDs each scenario hands out at least: `KXY_CHAOS_IDS`, default 100,000.
fn target_ids() -> u64 {
    std::env::var("KXY_CHAOS_IDS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(100_000)
}

/// IDs per request: 100 in the default mode, up to 1000 in the long mode.
fn segment_count() -> i64 {
    (target_ids() / 1000).clamp(100, 1000) as i64
}

/// How long a phase may take to hand out its IDs.
fn phase_timeout() -> Duration {
    Duration::from_secs(60 + target_ids() / 10_000)
}

/// How long allocation may take to come back after a fault.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The admin of the test servers.
const ADMIN: (&str, &str) = ("chaosadmin", "chaos-secret-1");

/// The JWT secret of every server of a scenario (a Redis that restarts empty loses a generated one).
const JWT_SECRET: &str = "kxy-id-chaos-jwt-secret-of-at-least-32-bytes-0123456789";

// ---------------------------------------------------------------------------------------------
// A scenario's run: the load, the faults, the verdict.

struct Fault {
    label: String,
    at: Instant,
    /// The servers whose allocations count as recovery.
    servers: Vec<usize>,
}

struct Run {
    name: String,
    load: Load,
    faults: Vec<Fault>,
    /// Checks that failed along the way (reported after the line).
    failures: Vec<String>,
    target: u64,
    /// Check each client's ranges per key are increasing (only where every allocation is one
    /// linearizable store operation: no reservation ahead).
    increasing: bool,
    /// Allocation did not recover from a fault: later phases are not waited for.
    broken: bool,
}

impl Run {
    fn start(name: &str, targets: &Targets, keys: &[Key]) -> Run {
        let load = Load::start(
            targets,
            keys,
            LoadOptions {
                count: segment_count(),
                ..LoadOptions::default()
            },
        );
        Run {
            name: name.to_owned(),
            load,
            faults: Vec::new(),
            failures: Vec::new(),
            target: target_ids(),
            increasing: false,
            broken: false,
        }
    }

    /// Waits until `num/den` of the target IDs were handed out (not after allocation failed to
    /// recover: the scenario has failed already).
    fn progress(&mut self, num: u64, den: u64) {
        if self.broken {
            return;
        }
        let want = self.target * num / den;
        if !self.load.wait_ids(want, phase_timeout()) {
            self.failures.push(format!(
                "the load did not reach {want} IDs (at {}) within {:?}",
                self.load.ids(),
                phase_timeout()
            ));
        }
    }

    /// Causes a fault affecting `servers` and records when it is in effect (`cause` has
    /// returned: the process is dead, the connections are cut). The caller heals it afterwards.
    fn fault(&mut self, label: &str, servers: &[usize], cause: impl FnOnce()) {
        cause();
        self.faults.push(Fault {
            label: label.to_owned(),
            at: Instant::now(),
            servers: servers.to_vec(),
        });
    }

    /// Waits until every server affected by the last fault answered an allocation after it.
    fn recovered(&mut self) -> bool {
        let Some(fault) = self.faults.last() else {
            return true;
        };
        if self.broken {
            return false;
        }
        let ok = self
            .load
            .wait_ok_after(fault.at, &fault.servers, RECOVERY_TIMEOUT);
        if !ok {
            self.failures.push(format!(
                "no allocation within {RECOVERY_TIMEOUT:?} after {}",
                fault.label
            ));
            self.broken = true;
        }
        ok
    }

    fn check(&mut self, ok: bool, failure: impl Into<String>) {
        if !ok {
            self.failures.push(failure.into());
        }
    }

    /// Hands out the rest of the target, stops the load, prints the line and asserts.
    fn finish(mut self) {
        self.progress(1, 1);
        self.recovered();
        let keys = self.load.keys.clone();
        let Run {
            name,
            load,
            faults,
            failures,
            target,
            increasing,
            ..
        } = self;
        let logs = load.stop();
        let mut per_key: Vec<Vec<(i64, i64)>> = vec![Vec::new(); keys.len()];
        let mut backwards = 0;
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        let mut samples: BTreeMap<String, String> = BTreeMap::new();
        let mut latest: BTreeMap<String, String> = BTreeMap::new();
        for log in &logs {
            let mut mine: Vec<Vec<(i64, i64)>> = vec![Vec::new(); keys.len()];
            for a in &log.allocations {
                per_key[a.key].push((a.start, a.end));
                mine[a.key].push((a.start, a.end));
            }
            backwards += mine.iter().map(|s| check::backwards(s)).sum::<u64>();
            for (cause, n) in &log.errors {
                *errors.entry(cause.clone()).or_default() += n;
            }
            for (cause, msg) in &log.samples {
                samples.entry(cause.clone()).or_insert_with(|| msg.clone());
            }
            for (cause, msg) in &log.latest {
                latest.insert(cause.clone(), msg.clone());
            }
        }
        let ids: u64 = per_key.iter().map(|r| check::ids(r)).sum();
        let repeats: u64 = per_key.iter_mut().map(|r| check::repeats(r)).sum();
        let recovery: Vec<(String, Option<Duration>)> = faults
            .iter()
            .map(|f| {
                // Recovered once every affected server answered again.
                let per_server = f.servers.iter().map(|&server| {
                    logs.iter()
                        .flat_map(|l| &l.allocations)
                        .filter(|a| a.server == server && a.sent >= f.at)
                        .map(|a| a.at - f.at)
                        .min()
                });
                let all = per_server.collect::<Option<Vec<Duration>>>();
                (f.label.clone(), all.and_then(|d| d.into_iter().max()))
            })
            .collect();
        let total_errors: u64 = errors.values().sum();
        let worst = recovery
            .iter()
            .map(|(_, d)| *d)
            .try_fold(Duration::ZERO, |w, d| d.map(|d| w.max(d)));
        println!(
            "chaos | {} | IDs {} | repeats {} | client errors {} {:?} | recovery {} ({})",
            name,
            ids,
            repeats,
            total_errors,
            errors,
            match worst {
                Some(_) if recovery.is_empty() => "n/a".into(),
                Some(d) => format!("{} ms", d.as_millis()),
                None => "never".into(),
            },
            recovery
                .iter()
                .map(|(l, d)| match d {
                    Some(d) => format!("{l}: {} ms", d.as_millis()),
                    None => format!("{l}: never"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Every problem at once: the repeats first, then what else went wrong.
        let mut problems = Vec::new();
        if repeats > 0 {
            problems.push(format!("{repeats} IDs were handed out twice"));
        }
        if increasing && backwards > 0 {
            problems.push(format!("{backwards} ranges went backwards for a client"));
        }
        for (label, d) in &recovery {
            if d.is_none() {
                problems.push(format!("allocation never recovered after {label}"));
            }
        }
        if ids < target {
            problems.push(format!("only {ids} IDs were handed out"));
        }
        problems.extend(failures);
        assert!(
            problems.is_empty(),
            "{name}: {problems:#?}\nfirst error per cause: {samples:#?}\na late error per cause: {latest:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Setup through the admin API.

/// Creates the admin (when there is none yet) and logs in.
fn login(addr: &str) -> String {
    let creds = json!({"username": ADMIN.0, "password": ADMIN.1});
    let _ = call(addr, "POST", "/api/auth/init-user", Some(&creds), None);
    let data = admin_call(addr, "POST", "/api/auth/login", Some(&creds), None);
    data["token"].as_str().expect("a token").to_owned()
}

/// Custom sequences `t0..t{n}` (add-config) of a database configuration that is never
/// connected to.
fn custom_keys(addr: &str, token: &str, system: &str, n: usize) -> Vec<Key> {
    let db = json!({"system_code": system, "db_type": "mysql", "db_address": "127.0.0.1:1",
        "db_user": "u", "db_password": "p", "db_name": "seq"});
    let data = admin_call(addr, "POST", "/api/database/add", Some(&db), Some(token));
    let guid = data["guid"].as_str().expect("a guid").to_owned();
    (0..n)
        .map(|i| {
            let config =
                json!({"table_name": format!("t{i}"), "field_name": "id", "initial_value": 0});
            admin_call(
                addr,
                "POST",
                &format!("/api/database/{guid}/add-config"),
                Some(&config),
                Some(token),
            );
            Key::new(system, "seq", &format!("t{i}"), "id")
        })
        .collect()
}

/// The business tables `t0..t{n}` of `db` (MariaDB), configured and initialized; their guid and keys.
fn table_keys(
    addr: &str,
    token: &str,
    system: &str,
    db: &TestDatabase,
    n: usize,
) -> (String, Vec<Key>) {
    let c = kxy_id::testing::database_config_from_url(
        &db.server_url,
        kxy_id::DbType::MySql,
        Some(&db.name),
    );
    let body = json!({"system_code": system, "db_type": "mysql", "db_address": c.db_address,
        "db_user": c.db_user, "db_password": c.db_password, "db_name": db.name});
    let data = admin_call(addr, "POST", "/api/database/add", Some(&body), Some(token));
    let guid = data["guid"].as_str().expect("a guid").to_owned();
    let data = admin_call(
        addr,
        "POST",
        &format!("/api/database/initialize/{guid}"),
        None,
        Some(token),
    );
    assert!(
        int(&data["initialized_count"]).unwrap_or(0) >= n as i64,
        "initialize: {data}"
    );
    let keys = (0..n)
        .map(|i| Key::new(system, &db.name, &format!("t{i}"), "id"))
        .collect();
    (guid, keys)
}

/// Flags of a server on `store`, plus `extra`.
fn store_flags(store: &str, extra: &[&str]) -> Vec<String> {
    let mut f = flags(&[
        "--store",
        store,
        "--jwt-secret-key",
        JWT_SECRET,
        "--connect-timeout",
        "2",
    ]);
    f.extend(flags(extra));
    f
}

// ---------------------------------------------------------------------------------------------
// Scenario bodies shared by several tests.

/// kill -9 of each server in turn during load, and a restart; then `cut` (the store's
/// connections terminated) twice when given.
fn kill_servers(
    scenario: &Scenario,
    name: &str,
    (store, extra): (&str, &[&str]),
    cut: Option<&dyn Fn() -> usize>,
    increasing: bool,
) {
    let (mut servers, mut run) =
        scenario.start_two(name, store, extra, increasing, four_custom_keys);
    run.progress(1, 6);
    for i in 0..2 {
        run.fault(&format!("kill -9 server {i}"), &[i], || servers.kill9(i));
        std::thread::sleep(Duration::from_millis(300));
        servers.restart(i);
        run.recovered();
        run.progress(i as u64 + 2, 6);
    }
    if let Some(cut) = cut {
        for round in 0..2 {
            let mut cut_count = 0;
            run.fault(&format!("store connections cut ({round})"), &[0, 1], || {
                cut_count = cut();
            });
            run.check(
                cut_count > 0,
                format!("round {round}: no store connection to cut"),
            );
            run.recovered();
            run.progress(round + 4, 6);
        }
    }
    run.finish();
}

// ---------------------------------------------------------------------------------------------
// 1. kill -9 of each server in turn, over Redis and over one SQLite file.

fn kill_servers_redis(name: &str, reserve: &str) {
    let scenario = Scenario::new();
    let Some(redis) = scenario.redis("redis", NO_PERSISTENCE) else {
        return;
    };
    let store = redis.url();
    let extra = ["--reserve", reserve];
    kill_servers(&scenario, name, (&store, &extra), None, reserve == "0");
}

fn kill_servers_sqlite(name: &str, reserve: Option<&str>) {
    let scenario = Scenario::new();
    let store = format!("sqlite://{}", scenario.dir().join("kxy.db").display());
    let extra: Vec<&str> = reserve.map(|r| vec!["--reserve", r]).unwrap_or_default();
    kill_servers(
        &scenario,
        name,
        (&store, &extra),
        None,
        reserve == Some("0"),
    );
}

#[test]
fn s1_kill_servers_redis_exact() {
    kill_servers_redis("1 kill -9 servers, Redis, --reserve 0", "0");
}

#[test]
fn s1_kill_servers_redis_reserve() {
    kill_servers_redis("1 kill -9 servers, Redis, --reserve 1000", "1000");
}

#[test]
fn s1_kill_servers_sqlite_exact() {
    kill_servers_sqlite("1 kill -9 servers, SQLite, --reserve 0", Some("0"));
}

#[test]
fn s1_kill_servers_sqlite_reserve() {
    kill_servers_sqlite("1 kill -9 servers, SQLite, --reserve 1000", Some("1000"));
}

// ---------------------------------------------------------------------------------------------
// 2. Redis without persistence restarted empty during load.

/// The services of a Redis scenario with a durable store: Redis, the durable PostgreSQL
/// database, the MariaDB business database. `None` when one is unreachable (after a NOTICE).
struct Services {
    durable: TestDatabase,
    business: TestDatabase,
}

fn services() -> Option<Services> {
    let durable = sql::postgres()?;
    let business = business()?;
    Some(Services { durable, business })
}

/// The MariaDB business database with tables `t0`, `t1` (MAX(pk) 10), `None` when MariaDB is
/// unreachable (after a NOTICE).
fn business() -> Option<TestDatabase> {
    let business = sql::mysql()?;
    sql::business_tables(&business, 2, 10);
    Some(business)
}

/// [`business`] and a Redis without persistence of the scenario's own; `None` when one is
/// missing (after a NOTICE).
fn business_and_redis(scenario: &Scenario) -> Option<(TestDatabase, RedisServer)> {
    let business = business()?;
    let redis = scenario.redis("redis", NO_PERSISTENCE)?;
    Some((business, redis))
}

/// A scenario on a Redis of its own (started with `args`) with the durable store:
/// [`Services::start`] on it, `faults` (given the scenario, the Redis and the run), the verdict.
/// Skipped when a service is missing (after a NOTICE).
fn on_redis_with_durable_store(
    name: &str,
    args: &[&str],
    faults: impl FnOnce(&Scenario, &mut RedisServer, &mut Run),
) {
    let scenario = Scenario::new();
    let Some(services) = services() else { return };
    let Some(mut redis) = scenario.redis("redis", args) else {
        return;
    };
    let (_servers, mut run) = services.start(&scenario, name, &redis.url());
    faults(&scenario, &mut redis, &mut run);
    run.finish();
}

impl Services {
    /// Two servers on the Redis at `store` with the durable store, under a load on
    /// [`mixed_keys`] whose ranges per client and key must be increasing.
    fn start(&self, scenario: &Scenario, name: &str, store: &str) -> (Servers, Run) {
        let extra = ["--durable-store", &self.durable.url];
        scenario.start_two(name, store, &extra, true, |addr| {
            mixed_keys(addr, &self.business)
        })
    }
}

/// Table-backed keys (`t0`, `t1` of the business database, MAX(pk) 10) and two custom sequences.
fn mixed_keys(addr: &str, business: &TestDatabase) -> Vec<Key> {
    let token = login(addr);
    let system = kxy_id::testing::unique_name();
    let (_, mut keys) = table_keys(addr, &token, &system, business, 2);
    keys.extend(custom_keys(addr, &token, &system, 2));
    keys
}

#[test]
fn s2_redis_restarts_empty_with_durable_store() {
    let name = "2 Redis SHUTDOWN NOSAVE, restarted empty, durable store";
    on_redis_with_durable_store(name, NO_PERSISTENCE, |_, redis, run| {
        for round in 0..2 {
            run.progress(round + 1, 3);
            let before = redis.run_id();
            run.fault(&format!("Redis restarted empty ({round})"), &[0, 1], || {
                redis.shutdown_nosave();
            });
            std::thread::sleep(Duration::from_millis(300));
            redis.restart();
            run.check(redis.run_id() != before, "Redis kept its run_id");
            run.recovered();
        }
    });
}

#[test]
fn s2b_redis_restarts_empty_then_recover() {
    let scenario = Scenario::new();
    let Some((business, mut redis)) = business_and_redis(&scenario) else {
        return;
    };
    let mut token_before = String::new();
    let (servers, mut run) = scenario.start_two(
        "2b Redis restarted empty, no durable store, recover --margin",
        &redis.url(),
        &[],
        true,
        |addr| {
            let keys = mixed_keys(addr, &business);
            // A token from before the loss: it stays valid (the JWT secret is configured) when
            // the admin account is gone with the rest of Redis.
            token_before = login(addr);
            keys
        },
    );
    let addr = servers.addr(0);
    let keys = run.load.keys.clone();
    run.progress(1, 2);
    run.fault("Redis restarted empty", &[0, 1], || redis.shutdown_nosave());
    std::thread::sleep(Duration::from_millis(300));
    redis.restart();
    // Allocation is refused (503 naming the cause) until an operator recovers.
    let errors_before = run.load.errors();
    std::thread::sleep(Duration::from_secs(2));
    let ids_refused = run.load.ids();
    std::thread::sleep(Duration::from_secs(1));
    run.check(
        run.load.ids() == ids_refused && run.load.errors() > errors_before,
        format!(
            "allocation went on after Redis lost its data ({} IDs in 1 s)",
            run.load.ids() - ids_refused
        ),
    );
    let (status, body) = call(
        &addr,
        "POST",
        "/api/segment/allocate",
        Some(&serde_json::from_str(&keys[2].request(1)).unwrap()),
        None,
    )
    .expect("allocate");
    run.check(
        status == 200 && body["code"] == 503,
        format!("after Redis lost its data allocate answered {status} {body}, not a 503"),
    );
    // The operator: metadata again (Redis lost it), then `recover` with a margin above every ID
    // handed out.
    let readd = || -> Result<(), String> {
        let ok = |r: std::io::Result<(u16, Value)>| match r {
            Ok((200, b)) if b["code"] == 0 => Ok(b["data"].clone()),
            other => Err(format!("{other:?}")),
        };
        let token = match ok(call(
            &addr,
            "GET",
            "/api/database/list",
            None,
            Some(&token_before),
        )) {
            Ok(_) => token_before.clone(),
            Err(_) => {
                let creds = json!({"username": ADMIN.0, "password": ADMIN.1});
                let _ = call(&addr, "POST", "/api/auth/init-user", Some(&creds), None);
                let login = ok(call(&addr, "POST", "/api/auth/login", Some(&creds), None))?;
                login["token"].as_str().unwrap_or_default().to_owned()
            }
        };
        let c = kxy_id::testing::database_config_from_url(
            &business.server_url,
            kxy_id::DbType::MySql,
            Some(&business.name),
        );
        let tables = json!({"system_code": keys[0].system_code, "db_type": "mysql", "db_address": c.db_address,
            "db_user": c.db_user, "db_password": c.db_password, "db_name": business.name});
        let seq = json!({"system_code": keys[0].system_code, "db_type": "mysql", "db_address": "127.0.0.1:1",
            "db_user": "u", "db_password": "p", "db_name": "seq"});
        // The guid of a configuration: the one listed for its system and database, else a new one.
        let find_or_add = |config: &Value| -> Result<String, String> {
            let listed = |list: &Value| {
                list.as_array().into_iter().flatten().find_map(|d| {
                    let same = d["system_code"] == config["system_code"]
                        && d["db_name"] == config["db_name"];
                    same.then(|| d["guid"].as_str().unwrap_or_default().to_owned())
                })
            };
            let list = ok(call(&addr, "GET", "/api/database/list", None, Some(&token)))?;
            if let Some(guid) = listed(&list) {
                return Ok(guid);
            }
            let data = ok(call(
                &addr,
                "POST",
                "/api/database/add",
                Some(config),
                Some(&token),
            ))?;
            Ok(data["guid"].as_str().unwrap_or_default().to_owned())
        };
        let guid = find_or_add(&tables)?;
        let path = format!("/api/database/initialize/{guid}");
        ok(call(&addr, "POST", &path, None, Some(&token)))?;
        let guid = find_or_add(&seq)?;
        for k in &keys[2..] {
            let c = json!({"table_name": k.table_name, "field_name": "id", "initial_value": 0});
            let path = format!("/api/database/{guid}/add-config");
            match call(&addr, "POST", &path, Some(&c), Some(&token)) {
                // The counter survived somewhere: nothing to re-create.
                Ok((200, b)) if b["code"] == 409 => {}
                answer => {
                    ok(answer)?;
                }
            }
        }
        Ok(())
    };
    // Before `recover`, so that it raises the re-created counters too; when the server refuses
    // metadata writes until then, again after it.
    let readded = readd();
    let margin = (run.load.ids() * 10 + 1_000_000_000).to_string();
    let store = redis.url();
    let out = binary(scenario.dir())
        .args(["recover", "--store", &store, "--margin", &margin])
        .output()
        .expect("run kxy-id-server recover");
    run.check(
        out.status.success(),
        format!(
            "kxy-id-server recover --store {store} --margin {margin}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    );
    if let Err(before) = readded
        && let Err(after) = readd()
    {
        run.failures.push(format!(
            "re-adding the lost configurations failed before recover ({before}) and after it ({after})"
        ));
    }
    run.fault("recover --margin", &[0, 1], || {});
    run.recovered();
    run.finish();
}

// ---------------------------------------------------------------------------------------------
// 3. Redis going back in time.

#[test]
fn s3_redis_restarts_from_an_older_snapshot() {
    let name = "3 Redis kill -9, restarted from an older RDB snapshot, durable store";
    on_redis_with_durable_store(name, RDB, |scenario, redis, run| {
        let aside = scenario.dir().join("older.rdb");
        for round in 0..2 {
            run.progress(3 * round + 1, 6);
            redis.snapshot_to("dump.rdb", &aside);
            // Keep loading past the snapshot for a few seconds.
            run.progress(3 * round + 2, 6);
            std::thread::sleep(Duration::from_secs(2));
            let label = format!("Redis kill -9, older snapshot ({round})");
            kill_and_restart_redis(run, redis, &label, |redis| {
                let dump = redis.dir.join("dump.rdb");
                std::fs::copy(&aside, dump).expect("put the older snapshot back");
            });
        }
    });
}

#[test]
fn s3_redis_restarts_from_its_aof_everysec() {
    let name = "3 Redis kill -9, AOF everysec (and its last second lost), durable store";
    on_redis_with_durable_store(name, AOF, |scenario, redis, run| {
        let aof = redis.dir.join("appendonlydir");
        let aside = scenario.dir().join("older-aof");
        for round in 0..3 {
            run.progress(round + 1, 4);
            if round == 0 {
                // kill -9 alone loses nothing that was written to the file.
                kill_and_restart_redis(run, redis, "Redis kill -9", |_| {});
            } else {
                // A power loss loses what `everysec` had not synced yet: the AOF as it was a
                // second before.
                chaos::redis::copy_dir(&aof, &aside);
                std::thread::sleep(Duration::from_secs(1));
                let label = format!("Redis kill -9, AOF 1 s older ({round})");
                kill_and_restart_redis(run, redis, &label, |_| {
                    std::fs::remove_dir_all(&aof).expect("remove the AOF");
                    chaos::redis::copy_dir(&aside, &aof);
                });
            }
        }
    });
}

/// The fault `label` affecting both servers: Redis kill -9; then `rewind` (given the dead Redis)
/// puts older files in its place, Redis restarts, and allocation must recover.
fn kill_and_restart_redis(
    run: &mut Run,
    redis: &mut RedisServer,
    label: &str,
    rewind: impl FnOnce(&RedisServer),
) {
    run.fault(label, &[0, 1], || redis.kill9());
    rewind(redis);
    redis.restart();
    run.recovered();
}

// ---------------------------------------------------------------------------------------------
// 4. Failover to a replica.

#[test]
fn s4_failover_to_the_replica() {
    let scenario = Scenario::new();
    let Some(services) = services() else { return };
    let Some(mut master) = scenario.redis("master", NO_PERSISTENCE) else {
        return;
    };
    // The replica follows the master through a proxy of its own, to make it lag.
    let link = Proxy::start(master.port);
    let link_port = link.port.to_string();
    let mut replica_args = NO_PERSISTENCE.to_vec();
    replica_args.extend(["--replicaof", "127.0.0.1", &link_port]);
    let replica = RedisServer::start(&scenario.dir().join("replica"), &replica_args);
    replica.wait_in_sync(&master);
    let proxy = Proxy::start(master.port);
    let (_servers, mut run) = services.start(
        &scenario,
        "4 failover: master kill -9, lagging replica promoted, durable store",
        &proxy.redis_url(),
    );
    run.progress(1, 2);
    // Asynchronous replication: the replica is a second behind when the master dies.
    link.set(Mode::Blackhole);
    std::thread::sleep(Duration::from_secs(1));
    run.fault(
        "replica 1 s behind, master kill -9, REPLICAOF NO ONE, proxy re-pointed",
        &[0, 1],
        || master.kill9(),
    );
    link.set(Mode::Drop);
    replica.cmd(&["REPLICAOF", "NO", "ONE"]);
    proxy.repoint(replica.port);
    run.recovered();
    run.finish();
}

// ---------------------------------------------------------------------------------------------
// 5. Network faults between one server and Redis.

#[test]
fn s5_network_faults_between_a_server_and_redis() {
    let scenario = Scenario::new();
    let Some(redis) = scenario.redis("redis", NO_PERSISTENCE) else {
        return;
    };
    let proxy = Proxy::start(redis.port);
    // Server 0 reaches Redis through the proxy, server 1 directly.
    let (_servers, mut run) = scenario.start(
        "5 network: drop, blackhole, delay between server 0 and Redis",
        &[
            store_flags(&proxy.redis_url(), &[]),
            store_flags(&redis.url(), &[]),
        ],
        true,
        four_custom_keys,
    );
    let faults: [(&str, Mode, u64); 3] = [
        ("drop 2 s", Mode::Drop, 2000),
        ("blackhole 6 s", Mode::Blackhole, 6000),
        (
            "delay 300 ms for 2 s",
            Mode::Delay(Duration::from_millis(300)),
            2000,
        ),
    ];
    for (i, (label, mode, millis)) in faults.into_iter().enumerate() {
        run.progress(i as u64 + 1, 4);
        run.fault(label, &[0], || proxy.set(mode));
        std::thread::sleep(Duration::from_millis(millis));
        proxy.set(Mode::Pass);
        run.recovered();
    }
    run.finish();
}

// ---------------------------------------------------------------------------------------------
// 6. Re-initialize in a loop while clients allocate.

#[test]
fn s6_reinitialize_in_a_loop() {
    let scenario = Scenario::new();
    let Some((business, redis)) = business_and_redis(&scenario) else {
        return;
    };
    let mut configured = None;
    let (servers, mut run) = scenario.start_two(
        "6 re-initialize in a loop",
        &redis.url(),
        &[],
        true,
        |addr| {
            let token = login(addr);
            let system = kxy_id::testing::unique_name();
            let (guid, keys) = table_keys(addr, &token, &system, &business, 2);
            configured = Some((guid, token));
            keys
        },
    );
    let (guid, token) = configured.expect("the tables are configured");
    run.progress(1, 4);
    let stop = Arc::new(AtomicBool::new(false));
    // Stops the re-initialize thread also when the scenario panics.
    let _stop_guard = StopOnDrop(stop.clone());
    let rounds = Arc::new(AtomicU64::new(0));
    let reinit = {
        let (stop, rounds, targets, guid, token) = (
            stop.clone(),
            rounds.clone(),
            servers.targets.clone(),
            guid.clone(),
            token.clone(),
        );
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 100_000 {
                n += 1;
                let addr = targets[n % targets.len()].lock().unwrap().clone();
                match call(
                    &addr,
                    "POST",
                    &format!("/api/database/initialize/{guid}"),
                    None,
                    Some(&token),
                ) {
                    Ok((200, b)) if b["code"] == 0 => {
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(format!("{other:?}")),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            failures
        })
    };
    run.fault("re-initialize loop", &[0, 1], || {});
    run.recovered();
    run.progress(2, 4);
    // A row inserted with an ID far ahead: the next re-initialize raises the counter past it.
    let ahead = (run.target * 100) as i64;
    sql::block_on(business.execute_mysql(&[format!(
        "INSERT INTO t0 (id, note) VALUES ({ahead}, 'ahead')"
    )]));
    run.progress(3, 4);
    // Enough rounds to overlap the load many times.
    let deadline = Instant::now() + phase_timeout();
    while rounds.load(Ordering::Relaxed) < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    run.finish_with(|| {
        stop.store(true, Ordering::Relaxed);
        let failures = reinit.join().expect("the re-initialize thread");
        (rounds.load(Ordering::Relaxed), failures)
    });
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Run {
    /// [`Run::finish`] after `also` stopped a side thread: it returns how many rounds it did
    /// and what failed.
    fn finish_with(mut self, also: impl FnOnce() -> (u64, Vec<String>)) {
        self.progress(1, 1);
        let (rounds, failures) = also();
        println!("chaos | {} | re-initialize rounds {rounds}", self.name);
        self.check(rounds > 0, "no re-initialize succeeded");
        self.check(
            failures.is_empty(),
            format!("re-initialize failed: {failures:?}"),
        );
        self.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// 7. The SQL stores: kill servers, terminate the store's connections.

#[test]
fn s7_kill_servers_sqlite_default_reserve() {
    kill_servers_sqlite("7 kill -9 servers, SQLite, default reserve", None);
}

/// [`kill_servers`] over a fresh SQL database (`store` makes it) with exact counters, cutting
/// the store's connections with `cut`.
fn kill_servers_and_connections(
    name: &str,
    store: fn() -> Option<TestDatabase>,
    cut: fn(&TestDatabase) -> usize,
) {
    let scenario = Scenario::new();
    let Some(store) = store() else { return };
    let cut = || cut(&store);
    let extra = ["--reserve", "0"];
    kill_servers(&scenario, name, (&store.url, &extra), Some(&cut), true);
}

#[test]
fn s7_kill_servers_and_connections_mysql() {
    kill_servers_and_connections(
        "7 kill -9 servers, KILL connections, MariaDB store",
        sql::mysql,
        sql::kill_mysql_connections,
    );
}

#[test]
fn s7_kill_servers_and_connections_postgres() {
    kill_servers_and_connections(
        "7 kill -9 servers, pg_terminate_backend, PostgreSQL store",
        sql::postgres,
        sql::terminate_postgres_connections,
    );
}
