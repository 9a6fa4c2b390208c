//! The operator's commands besides serving: `recover`, `export`, `import`, `migrate`,
//! `reopen-init` (each opens the store the same settings name and does one thing) and
//! `config check`.

use std::io::Write;
use std::time::Duration;

use kxy_id::store::{self, OpenOptions, transfer};

use crate::settings::{Command, ConfigAction, Settings};

/// Runs `command`; what to print on success.
pub async fn run_command(settings: &Settings, command: &Command) -> Result<String, kxy_id::Error> {
    let url = settings.store_url();
    let options = OpenOptions::default()
        .connect_timeout(Duration::from_secs(settings.connect_timeout.max(1)))
        .durable_store(settings.durable_store_url());
    match command {
        Command::Recover { margin } => recover(&url, &options, *margin).await,
        Command::Export { file } => {
            let store = store::open(&url, &options).await?;
            let export = transfer::export(store.allocator.as_ref(), store.meta.as_ref()).await?;
            let json = serde_json::to_string_pretty(&export).expect("an export serializes");
            match file {
                Some(path) => {
                    write_private(path, json.as_bytes()).map_err(|e| {
                        kxy_id::Error::InvalidConfig(format!("{}: {e}", path.display()))
                    })?;
                    Ok(format!(
                        "exported {} values, {} sets and {} counters to {}",
                        export.values.len(),
                        export.sets.len(),
                        export.counters.len(),
                        path.display()
                    ))
                }
                None => Ok(json),
            }
        }
        Command::Import { file } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| kxy_id::Error::InvalidConfig(format!("{}: {e}", file.display())))?;
            let export: transfer::Export = serde_json::from_str(&text).map_err(|e| {
                kxy_id::Error::InvalidConfig(format!("{} is not an export: {e}", file.display()))
            })?;
            let store = store::open(&url, &options).await?;
            transfer::import(store.allocator.as_ref(), store.meta.as_ref(), &export).await?;
            Ok(format!(
                "imported {} values, {} sets and {} counters",
                export.values.len(),
                export.sets.len(),
                export.counters.len()
            ))
        }
        Command::Admin(_) => Err(kxy_id::Error::InvalidConfig(
            "admin commands run through kxy_id_server::run_admin".into(),
        )),
        Command::Config {
            action: ConfigAction::Check,
        } => crate::config_file::check(settings),
        Command::Migrate { from, to } => migrate(from, to, &options).await,
        Command::ReopenInit => {
            let marker = settings.admin_marker();
            match std::fs::remove_file(&marker) {
                Ok(()) => Ok(format!(
                    "removed {}: init-user is open again on this host while the store has no admin",
                    marker.display()
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(format!(
                    "{} does not exist: nothing to reopen",
                    marker.display()
                )),
                Err(e) => Err(kxy_id::Error::InvalidConfig(format!(
                    "{}: {e}",
                    marker.display()
                ))),
            }
        }
    }
}

/// `recover`: only for a Redis store (the others are durable per write).
async fn recover(url: &str, options: &OpenOptions, margin: i64) -> Result<String, kxy_id::Error> {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    // A cluster is refused by `recover` itself (it needs one node); it always has marks.
    if !(scheme.starts_with("redis+")
        || scheme.starts_with("rediss+")
        || scheme == "redis"
        || scheme == "rediss")
    {
        return Err(kxy_id::Error::InvalidConfig(format!(
            "recover applies to a Redis store; {} commits every allocation before answering",
            kxy_id::redact_url(url)
        )));
    }
    if margin < 1 {
        return Err(kxy_id::Error::InvalidConfig(
            "--margin must be at least 1: more than the largest ID that may have been handed out"
                .into(),
        ));
    }
    let allocator = kxy_id::RedisAllocator::connect(url, options.connect_timeout).await?;
    let raised = allocator.recover(margin).await?;
    Ok(format!(
        "raised {} counters by {margin}; counters created from now on start above {margin}; \
         servers allocate again",
        raised.len()
    ))
}

/// `migrate`: an export of `from` imported into `to` (metadata replaced, counters raised),
/// then every counter checked in the target.
async fn migrate(from: &str, to: &str, options: &OpenOptions) -> Result<String, kxy_id::Error> {
    if from == to {
        return Err(kxy_id::Error::InvalidConfig(
            "--from and --to name the same store".into(),
        ));
    }
    // The source is only read: no durable store, no reservation.
    let plain = OpenOptions::default().connect_timeout(options.connect_timeout);
    let source = store::open(from, &plain).await?;
    let target = store::open(to, options).await?;
    let export = transfer::export(source.allocator.as_ref(), source.meta.as_ref()).await?;
    transfer::import(target.allocator.as_ref(), target.meta.as_ref(), &export).await?;
    for counter in &export.counters {
        let key = kxy_id::SegmentKey::parse(&counter.key)?;
        let copied = target.allocator.get(&key).await?.unwrap_or(i64::MIN);
        if copied < counter.value {
            return Err(kxy_id::Error::DataLoss(format!(
                "the counter of {key} is {copied} in {} but {} in {}",
                kxy_id::redact_url(to),
                counter.value,
                kxy_id::redact_url(from)
            )));
        }
    }
    Ok(format!(
        "copied {} values, {} sets and {} counters from {} to {}; counters were only raised. \
         Point every server at the target before anything allocates from the source again.",
        export.values.len(),
        export.sets.len(),
        export.counters.len(),
        kxy_id::redact_url(from),
        kxy_id::redact_url(to)
    ))
}

/// Writes `bytes` to a new file only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
