//! The `kxy-id-server` binary: reads the configuration and runs [`kxy_id_server::run`].

use kxy_id_server::{Command, Settings, open_state, run, run_admin, run_command, spawn_scanner};
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
    println!(
        "kxy-id-server {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    println!("store: {}", kxy_id::redact_url(&settings.store_url()));
    println!("data directory: {}", settings.data_dir.display());
    println!("API docs: http://{addr}/docs   health: http://{addr}/health");
    println!("admin UI: http://{addr}/");
    let _scanner = settings
        .scan_every()
        .map(|every| spawn_scanner(state.clone(), every));
    if let Err(e) = run(listener, state, shutdown_signal()).await {
        eprintln!("kxy-id-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    println!("kxy-id-server stopped");
    std::process::ExitCode::SUCCESS
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
