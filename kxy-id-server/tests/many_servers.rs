//! Many servers, one store, and a client that fails over between them: three real
//! `kxy-id-server` processes share one MariaDB store; the client's `HttpSource` knows all
//! three. One server is killed (connections refused), one is partitioned (a proxy in front of
//! it accepts connections and never answers), one stays. Every range the client is handed is
//! recorded: no ID may come twice, every fetch must succeed, and the partitioned server may
//! cost only a bounded number of timeouts (its cooldowns and health checks), not one per fetch.

mod common;

// The chaos suite's helpers; this test uses a part of each.
#[allow(dead_code)]
mod chaos {
    pub mod check;
    pub mod proxy;
    pub mod servers;
}

use std::sync::Arc;
use std::time::Duration;

use chaos::check;
use chaos::proxy::{Mode, Proxy};
use chaos::servers::{Servers, flags};
use common::raw_http::{admin_call, call};
use kxy_id::SegmentKey;
use kxy_id::testing::TestDatabase;
use kxy_id_client::{HttpConfig, HttpSource, SegmentSource};
use serde_json::json;

const JWT_SECRET: &str = "kxy-id-many-servers-jwt-secret-of-at-least-32-bytes-0123";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A custom sequence `seq.t` of system `many`, created through server `addr`.
fn create_key(addr: &str) -> SegmentKey {
    let creds = json!({"username": "admin", "password": "many-secret-1"});
    let _ = call(addr, "POST", "/api/auth/init-user", Some(&creds), None);
    let token = admin_call(addr, "POST", "/api/auth/login", Some(&creds), None)["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let db = json!({"system_code": "many", "db_type": "mysql", "db_address": "127.0.0.1:1",
        "db_user": "u", "db_password": "p", "db_name": "seq"});
    let guid = admin_call(addr, "POST", "/api/database/add", Some(&db), Some(&token))["guid"]
        .as_str()
        .expect("a guid")
        .to_owned();
    let config = json!({"table_name": "t", "field_name": "id", "initial_value": 0});
    let path = format!("/api/database/{guid}/add-config");
    admin_call(addr, "POST", &path, Some(&config), Some(&token));
    SegmentKey::new("many", "seq", "t", "id").unwrap()
}

/// `n` fetches (at least 4) of `count` IDs from 4 concurrent tasks; every range handed out.
async fn fetch(
    source: &Arc<HttpSource>,
    key: &SegmentKey,
    n: usize,
    count: i64,
) -> Vec<(i64, i64)> {
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (source, key) = (source.clone(), key.clone());
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..n / 4 {
                    let s = source
                        .fetch(&key, count)
                        .await
                        .expect("every fetch is answered");
                    got.push((s.start, s.end));
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[test]
fn a_client_fails_over_past_a_dead_and_a_partitioned_server() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDatabase::mysql()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let args = flags(&[
        "--store",
        &db.url,
        "--jwt-secret-key",
        JWT_SECRET,
        "--connect-timeout",
        "2",
    ]);
    let mut servers = Servers::start(dir.path(), &[args.clone(), args.clone(), args]);
    let key = create_key(&servers.addr(0));
    let port = |i: usize| -> u16 { servers.addr(i).rsplit(':').next().unwrap().parse().unwrap() };
    // Server 1 is reached through a proxy, so that it can be partitioned away.
    let proxy = Proxy::start(port(1));
    let urls = [
        format!("http://{}", servers.addr(0)),
        format!("http://127.0.0.1:{}", proxy.port),
        format!("http://{}", servers.addr(2)),
    ];
    let config = HttpConfig::new(urls.clone())
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(500))
        .attempts(6)
        .retry_backoff(Duration::from_millis(10), Duration::from_millis(100));
    let source = Arc::new(HttpSource::new(config).unwrap());
    let mut ranges = Vec::new();

    // All three up: the first server answers everything (sticky).
    ranges.extend(rt.block_on(fetch(&source, &key, 200, 10)));
    assert!(
        source.servers().iter().all(|s| s.up),
        "{:?}",
        source.servers()
    );

    // Server 0 dies and server 1 is partitioned: the client moves to server 2.
    servers.kill9(0);
    proxy.set(Mode::Blackhole);
    let accepted_before = proxy.accepted();
    ranges.extend(rt.block_on(fetch(&source, &key, 400, 10)));
    let health = source.servers();
    assert!(!health[0].up && !health[1].up && health[2].up, "{health:?}");
    // Each fetch went straight to the survivor once the others were down: the partitioned
    // server saw at most the connections of the first attempts (one per task) and of its
    // health checks, not one per fetch.
    let to_partitioned = proxy.accepted() - accepted_before;
    assert!(
        to_partitioned <= 8,
        "{to_partitioned} connections to the partitioned server"
    );

    // The partition heals, the survivor dies: after its cooldown and a health check, server 1
    // takes over.
    proxy.set(Mode::Pass);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !source.servers()[1].up {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            source.servers()
        );
        // A fetch starts the health checks that are due.
        ranges.extend(rt.block_on(fetch(&source, &key, 4, 1)));
        std::thread::sleep(Duration::from_millis(200));
    }
    servers.kill9(2);
    ranges.extend(rt.block_on(fetch(&source, &key, 400, 10)));
    let health = source.servers();
    assert!(health[1].up && !health[2].up, "{health:?}");

    let handed_out = check::ids(&ranges);
    let repeats = check::repeats(&mut ranges);
    println!(
        "many servers: {} fetches, {handed_out} IDs, {repeats} repeats, health {health:?}",
        ranges.len()
    );
    assert_eq!(repeats, 0, "an ID was handed out twice");
    drop(servers);
    rt.block_on(db.remove());
}
