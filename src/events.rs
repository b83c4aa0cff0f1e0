//! The event queue of an environment and the one threadsafe function that drains it.
//!
//! Every socket and server of an environment pushes its events (data ready, connected, closed,
//! ...) into one queue. The first push after a drain wakes the JS thread once; everything pushed
//! while JS is busy rides along in the same wake-up. The JS side receives a whole batch as one
//! flat array `[kind, id, payload, kind, id, payload, ...]` and dispatches it (`lib/events.js`).
//! Cross-thread wake-ups cost microseconds each, so one per batch instead of one per event is
//! what makes many busy sockets cheap.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

use crate::socket::SocketShared;

/// What happened; the numbers are the `kind` slots of the batch array (see `EventKind`).
pub enum Event {
  /// A client socket finished connecting.
  Connected { id: u32 },
  /// A client socket failed to connect (`errno` negative, syscall `connect`).
  ConnectFailed { id: u32, errno: i32 },
  /// Data, end of stream or a read error waits in this socket's inbox.
  Readable { socket: Arc<SocketShared> },
  /// Queued writes were flushed (`errno` 0) or failed; `count` write requests are done.
  WriteDone { id: u32, errno: i32, count: u32 },
  /// A requested shutdown (FIN) was sent, or failed.
  ShutdownDone { id: u32, errno: i32 },
  /// A server accepted a connection.
  Connection { server: u32, socket: Arc<SocketShared> },
  /// `accept()` failed (the server keeps listening).
  AcceptFailed { server: u32, errno: i32 },
}

/// Wakes the JS thread; called at most once per batch.
pub type Waker = Box<dyn Fn() + Send + Sync>;

struct QueueState {
  /// Events in the order they happened.
  events: Vec<Event>,
  /// A wake-up is on its way to the JS thread; further pushes need not send another.
  scheduled: bool,
  /// The environment is going away: pushes are dropped, nothing may touch the waker.
  closed: bool,
}

/// The per-environment queue shared by the JS thread and the runtime thread.
pub struct EventQueue {
  state: Mutex<QueueState>,
  waker: Waker,
  /// Ids for sockets and servers; unique within the environment.
  next_id: AtomicU32,
  /// Events are waiting: a lock-free hint for the JS thread while it spins (see `SpinPolicy`).
  pending: AtomicBool,
  /// Wakes `deferred_wake` on the runtime thread (set once that task runs).
  deferred: OnceLock<Arc<Notify>>,
}

thread_local! {
  /// This thread is an environment's runtime thread.
  static ON_IO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Mark the calling thread as a runtime thread (see `EventQueue::push`).
pub fn mark_io_thread() {
  ON_IO_THREAD.with(|f| f.set(true));
}

/// The runtime thread's side of waking JS: one wake-up after all the I/O of a turn.
///
/// Sockets that became ready together are handled one task after another in the same turn of
/// the runtime. Waking JS from the first of them would hand it a batch of one; instead the
/// first push of a batch notifies this task, which the scheduler runs after the tasks already
/// queued, so the JS thread is woken once with everything they found.
pub async fn deferred_wake(queue: Arc<EventQueue>) {
  let notify = queue.deferred.get_or_init(|| Arc::new(Notify::new())).clone();
  loop {
    notify.notified().await;
    (queue.waker)();
  }
}

impl EventQueue {
  pub fn new(waker: Waker) -> Self {
    EventQueue {
      state: Mutex::new(QueueState {
        events: Vec::with_capacity(64),
        scheduled: false,
        closed: false,
      }),
      waker,
      next_id: AtomicU32::new(1),
      pending: AtomicBool::new(false),
      deferred: OnceLock::new(),
    }
  }

  /// A fresh handle id.
  pub fn next_id(&self) -> u32 {
    self.next_id.fetch_add(1, Ordering::Relaxed)
  }

  /// Queue an event; wake the JS thread if no wake-up is pending.
  pub fn push(&self, event: Event) {
    let wake = {
      let mut state = lock(&self.state);
      if state.closed {
        return;
      }
      state.events.push(event);
      self.pending.store(true, Ordering::Release);
      !std::mem::replace(&mut state.scheduled, true)
    };
    // Outside the lock, so the JS thread never waits for a wake-up syscall to take a batch.
    // This is safe against teardown: the runtime thread is joined before the waker's function
    // is released, and the JS thread itself is the one that releases it.
    if wake {
      match self.deferred.get() {
        Some(notify) if ON_IO_THREAD.with(|f| f.get()) => notify.notify_one(),
        _ => (self.waker)(),
      }
    }
  }

  /// Queue a socket's `Readable` that carries the end of its reading (EOF or a read error)
  /// ahead of that socket's write and shutdown completions still in the queue. libuv handles
  /// a descriptor's readable event before its writable one in the same poll, so when a peer's
  /// reset arrives while JS is busy, Node reports it by the read (`read ECONNRESET`), even if
  /// a write had completed before the reset came; delivered after that completion, the reset
  /// would meet the next write JS makes instead (`write ECONNRESET`).
  pub fn push_read_end(&self, id: u32, event: Event) {
    let mut state = lock(&self.state);
    let first_write = state.events.iter().position(|e| match e {
      Event::WriteDone { id: of, .. } | Event::ShutdownDone { id: of, .. } => *of == id,
      _ => false,
    });
    match first_write {
      // (A wake-up is already on its way for the completion.)
      Some(at) if !state.closed => state.events.insert(at, event),
      _ => {
        drop(state);
        self.push(event);
      }
    }
  }

  /// Have the events queued so far delivered in the JS thread's next poll, without waiting
  /// for a wake-up the runtime thread defers (JS thread).
  pub fn wake_now(&self) {
    let state = lock(&self.state);
    if !state.closed && !state.events.is_empty() {
      drop(state);
      (self.waker)();
    }
  }

  /// Take every queued event (JS thread, at the start of a wake-up).
  pub fn take(&self, into: &mut Vec<Event>) {
    let mut state = lock(&self.state);
    state.scheduled = false;
    self.pending.store(false, Ordering::Release);
    std::mem::swap(&mut state.events, into);
  }

  /// Whether events are waiting (without taking the lock).
  pub fn has_pending(&self) -> bool {
    self.pending.load(Ordering::Acquire)
  }

  /// Stop accepting events; after this the waker is never called again.
  pub fn close(&self) {
    let mut state = lock(&self.state);
    state.closed = true;
    state.events.clear();
  }
}

/// Lock a mutex, ignoring poisoning: every critical section here leaves the data consistent.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
  m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::AtomicUsize;

  fn counting_queue() -> (Arc<EventQueue>, Arc<AtomicUsize>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let q = Arc::new(EventQueue::new(Box::new(move || {
      w.fetch_add(1, Ordering::SeqCst);
    })));
    (q, wakes)
  }

  #[test]
  fn one_wake_up_per_batch() {
    let (q, wakes) = counting_queue();
    for id in 0..10 {
      q.push(Event::Connected { id });
    }
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    let mut batch = Vec::new();
    q.take(&mut batch);
    assert_eq!(batch.len(), 10);
    assert!(matches!(batch[3], Event::Connected { id: 3 }));
    q.push(Event::Connected { id: 1 });
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
  }

  #[test]
  fn pushes_of_one_runtime_turn_wake_js_once() {
    let (q, wakes) = counting_queue();
    let rt = crate::runtime::IoRuntime::start().unwrap();
    rt.handle().spawn(deferred_wake(q.clone()));
    // Let the wake task register itself.
    while q.deferred.get().is_none() {
      std::thread::yield_now();
    }
    let q2 = q.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let w2 = wakes.clone();
    rt.handle().spawn(async move {
      for id in 0..5 {
        q2.push(Event::Connected { id });
      }
      // Not woken yet: the wake-up waits for the end of this turn.
      tx.send(w2.load(Ordering::SeqCst)).unwrap();
    });
    assert_eq!(rx.recv().unwrap(), 0, "JS was woken before the turn ended");
    let start = std::time::Instant::now();
    while wakes.load(Ordering::SeqCst) == 0 && start.elapsed() < std::time::Duration::from_secs(5) {
      std::thread::yield_now();
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    let mut batch = Vec::new();
    q.take(&mut batch);
    assert_eq!(batch.len(), 5);
  }

  #[test]
  fn the_end_of_reading_goes_before_the_same_sockets_write_completions() {
    let (q, wakes) = counting_queue();
    q.push(Event::Connected { id: 1 });
    q.push(Event::WriteDone {
      id: 2,
      errno: 0,
      count: 1,
    });
    q.push(Event::WriteDone {
      id: 3,
      errno: 0,
      count: 1,
    });
    q.push(Event::ShutdownDone { id: 3, errno: 0 });
    q.push_read_end(3, Event::AcceptFailed { server: 3, errno: -1 });
    q.push_read_end(4, Event::AcceptFailed { server: 4, errno: -1 });
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
    let mut batch = Vec::new();
    q.take(&mut batch);
    let order: Vec<(u8, u32)> = batch
      .iter()
      .map(|e| match e {
        Event::Connected { id } => (4, *id),
        Event::WriteDone { id, .. } => (6, *id),
        Event::ShutdownDone { id, .. } => (7, *id),
        Event::AcceptFailed { server, .. } => (10, *server),
        _ => (0, 0),
      })
      .collect();
    assert_eq!(order, [(4, 1), (6, 2), (10, 3), (6, 3), (7, 3), (10, 4)]);
    // Alone in the queue, it wakes JS as any push does.
    q.push_read_end(5, Event::AcceptFailed { server: 5, errno: -1 });
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
  }

  #[test]
  fn closed_queue_drops_events_and_never_wakes() {
    let (q, wakes) = counting_queue();
    q.close();
    q.push(Event::Connected { id: 1 });
    assert_eq!(wakes.load(Ordering::SeqCst), 0);
    let mut batch = Vec::new();
    q.take(&mut batch);
    assert!(batch.is_empty());
  }

  #[test]
  fn ids_are_unique() {
    let (q, _) = counting_queue();
    let a = q.next_id();
    let b = q.next_id();
    assert_ne!(a, b);
  }
}
