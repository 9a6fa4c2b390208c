//! [`Background`]: where fetch tasks run: a runtime on a thread of its own, or a caller's runtime.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Runs the background fetch tasks of one or more generators.
///
/// The owned form is a single-threaded tokio runtime on a dedicated thread, so that generators
/// work from plain synchronous code. The thread stops when the last owner drops its `Arc`.
#[derive(Debug)]
pub(crate) struct Background {
    /// Where tasks are spawned.
    handle: Handle,
    /// The owned thread, `None` for a caller's runtime.
    _owned: Option<OwnedThread>,
}

/// The runtime thread and the signal that stops it.
#[derive(Debug)]
struct OwnedThread {
    /// Dropping (or sending on) it ends the thread's `block_on`, which drops the runtime.
    stop: Option<oneshot::Sender<()>>,
    /// The thread, joined on drop unless dropped from the thread itself.
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts a runtime on a new thread named `name`.
    pub(crate) fn start(name: &str) -> Result<Arc<Background>> {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(runtime.handle().clone()));
                // Either a stop signal or the sender being dropped ends the wait.
                let _ = runtime.block_on(stopped);
                // Dropping the runtime here cancels the tasks that are still running.
            })
            .map_err(|e| Error::InvalidConfig(format!("cannot start the prefetch thread: {e}")))?;
        let handle = match ready_rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(Error::InvalidConfig(format!(
                    "cannot start the prefetch runtime: {e}"
                )));
            }
            Err(_) => {
                let _ = thread.join();
                return Err(Error::InvalidConfig(
                    "the prefetch thread stopped while starting".to_owned(),
                ));
            }
        };
        Ok(Arc::new(Background {
            handle,
            _owned: Some(OwnedThread {
                stop: Some(stop),
                thread: Some(thread),
            }),
        }))
    }

    /// Uses a caller's runtime.
    pub(crate) fn on(handle: Handle) -> Arc<Background> {
        Arc::new(Background {
            handle,
            _owned: None,
        })
    }

    /// Where to spawn tasks.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for OwnedThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Never join from the runtime thread itself (it would wait for itself).
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_runtime_runs_tasks_and_stops_on_drop() {
        let background = Background::start("kxy-id-test").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        background.handle().spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            tx.send(42).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), 42);
        // A task that never ends must not keep the thread alive.
        background.handle().spawn(std::future::pending::<()>());
        drop(background);
    }
}
