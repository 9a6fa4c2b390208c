//! IDs from a kxy-id server over HTTP, with failover between servers.
//!
//! Run: `cargo run --example http_client` against a server at `http://127.0.0.1:5801`, or set
//! `KXY_ID_SERVER_URL` to one or more comma-separated base URLs. The server must know the key:
//! a database configuration for system `shop` and database `orders` with a table `t_order`
//! (or set `KXY_ID_SYSTEM`, `KXY_ID_DB`, `KXY_ID_TABLE`, `KXY_ID_FIELD`).

use std::sync::Arc;
use std::time::Duration;

use kxy_id_client::{GeneratorConfig, HttpConfig, HttpSource, IdGeneratorFactory};

fn env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let urls = env("KXY_ID_SERVER_URL", "http://127.0.0.1:5801");
    let source = HttpSource::new(
        HttpConfig::new(urls.split(',').map(str::trim))
            .connect_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_secs(3)),
    )?;

    // Plain synchronous code: the factory runs its fetches on a thread of its own.
    let factory = IdGeneratorFactory::builder(
        Arc::new(source),
        &env("KXY_ID_SYSTEM", "shop"),
        &env("KXY_ID_DB", "orders"),
    )
    .config(GeneratorConfig::default().max_wait(Duration::from_secs(5)))
    .build()?;
    let ids = factory.generator(&env("KXY_ID_TABLE", "t_order"), &env("KXY_ID_FIELD", "id"))?;

    match ids.next_id() {
        Ok(id) => println!("first ID: {id}"),
        Err(e) => {
            // The error names the key and, as its source, what the server (or network) said.
            eprintln!("cannot get an ID from {urls}: {e}");
            if let Some(cause) = std::error::Error::source(&e) {
                eprintln!("  caused by: {cause}");
            }
            std::process::exit(1);
        }
    }
    for _ in 0..4 {
        println!("next ID: {}", ids.next_id()?);
    }
    let snapshot = ids.snapshot();
    println!(
        "segment {:?}, next ready {}, last fetch took {:?}",
        snapshot.segment,
        snapshot.next_ready(),
        snapshot.last_fetch_latency
    );
    Ok(())
}
