//! The `kxy-id-server` binary: reads the configuration and runs [`kxy_id_server::run`].

use kxy_id_server::{
    Command, Settings, Tls, open_state, run, run_admin, run_command, run_tls, spawn_scanner,
};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to standard error; standard output says where the server listens.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = Settings::load();
    if let Some(Command::Admin(admin)) = &settings.command {
        return run_admin(admin).await;
    }
    if let Some(command) = &settings.command {
        return match run_command(&settings, command).await {
            Ok(report) => {
                println!("{report}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kxy-id-server: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    // TLS files are checked before the store opens: a typo fails fast.
    let tls = match settings.tls().and_then(|t| t.map(Tls::load).transpose()) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("kxy-id-server: TLS: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let state = match open_state(&settings).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("kxy-id-server: cannot open the store: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kxy-id-server: cannot listen on {}: {e}", settings.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| settings.listen.clone());
    // SIGHUP is handled before the address is printed: from then on it never stops the server.
    let _reloader = tls
        .as_ref()
        .map(|tls| tls.spawn_reloader(settings.tls_reload_every()));
    #[cfg(unix)]
    let _hangups = tls.is_none().then(log_hangups);
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "kxy-id-server {} listening on {scheme}://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    println!("store: {}", kxy_id::redact_url(&settings.store_url()));
    println!("data directory: {}", settings.data_dir.display());
    println!("API docs: {scheme}://{addr}/docs   health: {scheme}://{addr}/health");
    println!("admin UI: {scheme}://{addr}/");
    let _scanner = settings
        .scan_every()
        .map(|every| spawn_scanner(state.clone(), every));
    let served = match tls {
        Some(tls) => run_tls(listener, state, tls, shutdown_signal()).await,
        None => run(listener, state, shutdown_signal()).await,
    };
    if let Err(e) = served {
        eprintln!("kxy-id-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    println!("kxy-id-server stopped");
    std::process::ExitCode::SUCCESS
}

/// Without TLS there is nothing to reload: SIGHUP (`systemctl reload`) is logged instead of
/// stopping the server, which is what it would do unhandled. Handled from the return on.
#[cfg(unix)]
fn log_hangups() -> Option<tokio::task::JoinHandle<()>> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()?;
    Some(tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: nothing to reload without TLS");
        }
    }))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
