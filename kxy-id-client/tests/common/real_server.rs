//! A kxy-id server started in this process through `kxy_id_server::run`, for the end-to-end
//! tests.

use std::net::SocketAddr;

use kxy_id::SegmentKey;

/// A kxy-id server running in this process; stops when dropped.
pub struct RealServer {
    pub addr: SocketAddr,
    pub state: kxy_id_server::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl RealServer {
    /// A server over a new SQLite store.
    pub async fn start() -> RealServer {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}", dir.path().join("kxy-id.db").display());
        let mut server = RealServer::on_store(dir.path(), &store).await;
        server._dir = Some(dir);
        server
    }

    /// A server over the store at `store` (several servers may share one).
    pub async fn on_store(data_dir: &std::path::Path, store: &str) -> RealServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        RealServer::on_listener(data_dir, store, listener).await
    }

    /// A server over `store` answering on `listener` (to restart one on the same address).
    pub async fn on_listener(
        data_dir: &std::path::Path,
        store: &str,
        listener: tokio::net::TcpListener,
    ) -> RealServer {
        use clap::Parser;
        let settings = kxy_id_server::Settings::try_parse_from([
            "kxy-id-server",
            "--data-dir",
            &data_dir.display().to_string(),
            "--store",
            store,
            "--bcrypt-cost",
            "10",
            "--secret-key",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ])
        .unwrap();
        let state = kxy_id_server::open_state(&settings).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kxy_id_server::run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        RealServer {
            addr,
            state,
            stop: Some(stop),
            _dir: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Seeds the counter of `key` (as initialize or add-config would).
    pub async fn seed(&self, key: &SegmentKey, value: i64) {
        self.state
            .service
            .allocator()
            .raise_to(key, value)
            .await
            .unwrap();
    }

    pub async fn counter(&self, key: &SegmentKey) -> Option<i64> {
        self.state.service.allocator().get(key).await.unwrap()
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
