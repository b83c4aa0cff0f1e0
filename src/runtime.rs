//! The one tokio runtime of a Node environment and its lifecycle.
//!
//! It is started lazily, by the first handle that needs I/O, on one dedicated thread
//! (`rsnet-io`). A current-thread scheduler is enough: all sockets of an environment share that
//! one thread, and JS runs on the other core. It is stopped by the environment's cleanup hook:
//! `shutdown` wakes the thread, which drops the runtime and with it every task and socket.

use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// A running runtime thread.
pub struct IoRuntime {
  /// Where tasks are spawned from the JS thread.
  handle: Handle,
  /// Dropping or sending on this lets the runtime thread leave `block_on` and exit.
  stop: Option<oneshot::Sender<()>>,
  /// Joined on shutdown so no task outlives the environment.
  thread: Option<JoinHandle<()>>,
  /// Signalled by the thread when it has dropped the runtime.
  done: mpsc::Receiver<()>,
}

/// How long teardown waits for the runtime thread before leaving it behind: a thread stuck in
/// a syscall must not hang the exit of the process or of a worker.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

impl IoRuntime {
  /// Start the runtime thread.
  pub fn start() -> io::Result<Self> {
    let rt = Builder::new_current_thread().enable_io().enable_time().build()?;
    let handle = rt.handle().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let (finished, done) = mpsc::channel::<()>();
    let thread = thread::Builder::new().name("rsnet-io".into()).spawn(move || {
      crate::events::mark_io_thread();
      rt.block_on(async {
        let _ = stopped.await;
      });
      // Dropping the runtime drops every task, which closes every socket it owned.
      drop(rt);
      let _ = finished.send(());
    })?;
    Ok(IoRuntime {
      handle,
      stop: Some(stop),
      thread: Some(thread),
      done,
    })
  }

  pub fn handle(&self) -> &Handle {
    &self.handle
  }

  /// Stop the runtime thread and wait for it to exit.
  pub fn shutdown(&mut self) {
    if let Some(stop) = self.stop.take() {
      let _ = stop.send(());
    }
    if let Some(thread) = self.thread.take() {
      if self.done.recv_timeout(SHUTDOWN_WAIT).is_ok() {
        let _ = thread.join();
      }
    }
  }
}

impl Drop for IoRuntime {
  fn drop(&mut self) {
    self.shutdown();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn runs_tasks_and_shuts_down() {
    let mut rt = IoRuntime::start().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.handle().spawn(async move {
      tx.send(42).unwrap();
    });
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap(), 42);
    // A task that never ends must not keep shutdown waiting.
    rt.handle().spawn(std::future::pending::<()>());
    rt.shutdown();
  }
}
