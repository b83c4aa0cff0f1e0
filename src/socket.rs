//! `SocketHandle`: one TCP connection.
//!
//! The JS `Socket` (a `stream.Duplex`, `lib/socket.js`) owns one `SocketHandle`. The handle is
//! small and typed; all of `net`'s semantics live in JS.
//!
//! - Connecting: `bind` and `connect` run the syscalls on the JS thread (as libuv does), so
//!   immediate errors are known at once; the runtime thread waits for the outcome.
//! - Reading: a task on the runtime thread reads into the socket's `Inbox` while JS wants data
//!   and the inbox is below `READ_AHEAD`; consecutive reads coalesce there while JS is behind,
//!   and the first one of a batch queues a single `Readable` event. While the JS thread waits
//!   for its next batch it reads the sockets that just got data itself (`assist_read`); a
//!   per-socket read lock keeps the two readers' bytes in order.
//! - Writing: `write`/`writev` send straight from the JS thread with the caller's bytes
//!   borrowed. Only what the kernel did not take is copied into the `Outbox` and flushed by a
//!   task, which reports `WriteDone` when the outbox is empty.
//! - Closing: the descriptor lives in a `Conn`, shared by the handle and the tasks. `close`
//!   closes it on the JS thread when no task holds it, else it aborts the tasks, which close
//!   it on the runtime thread a moment later; JS emits `'close'` without waiting (those
//!   descriptors are counted in `CLOSING`, which an accept out of descriptors waits for). A
//!   connect under way owns its descriptor: aborted, its task closes it.

use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use socket2::{Domain, SockAddr, SockRef, Socket, TcpKeepalive, Type};
use tokio::net::{TcpStream, UnixStream};

use crate::stream::{Stream, STREAM_NONBLOCKING};
use tokio::task::AbortHandle;

use crate::engine::with_engine;
use crate::error::errno_of;
use crate::events::{lock, Event, EventQueue};

/// Most bytes read ahead of a flowing stream; reading pauses there until JS takes the data.
/// A read takes what room is left under it (at least `LIBUV_READ`), so while JS keeps up one
/// read can take up to 1 MiB: fewer reads and fewer events per byte than libuv's 64 KiB
/// (bulk receive on the 2-core bench machine: 1.0-1.3 GB/s with 256 KiB and 64 KiB reads,
/// 1.6-1.9 with these). What is read ahead and never reaches JS is data that Node would have
/// left in the kernel, so `close` answers it with a reset as the kernel would.
///
/// Once JS pauses the stream (`set_flowing(false)`) reads go one at a time instead
/// (`READ_AHEAD_PAUSED`), each after JS asked for more, as Node reads a paused stream.
pub const READ_AHEAD: usize = 1024 * 1024;
pub const READ_AHEAD_PAUSED: usize = 0;
/// libuv before 1.52 (Node 20 and 22) reads 64 KiB at a time and takes a hang-up (POLLHUP)
/// seen right after a short read for the end of the stream, without reading on: a reset that
/// arrived behind data then reads as a clean end. Set by JS for those versions; the last of
/// libuv's reads is short unless the bytes read since the socket was last drained are a
/// multiple of 64 KiB (`Inbox::run`).
static HANG_UP_IS_EOF: AtomicBool = AtomicBool::new(false);

/// Whether a hang-up after a short read ends the stream (libuv before 1.52; see above).
#[napi(catch_unwind)]
pub fn set_hang_up_is_eof(on: bool) {
  HANG_UP_IS_EOF.store(on, Ordering::Relaxed);
}

/// Size of a fresh read buffer. The reads of one thread go one after the other into the same
/// allocation (a large read's bytes are split off it, see `Inbox::append`), so a large read
/// costs no allocation of its own; the allocation is freed once its last chunk is.
const READ_CHUNK: usize = READ_AHEAD;
/// A read buffer with less spare room than this gets a fresh allocation before the next read.
const MIN_READ_ROOM: usize = READ_AHEAD / 4;
/// What libuv reads at once: the size of a read for a stream that is not flowing, the least
/// a flowing one reads, and the size of the reads `surface_read_error` makes.
const LIBUV_READ: usize = 64 * 1024;
/// Reads are merged into one chunk up to this size; beyond, they stay separate buffers.
const COALESCE_LIMIT: usize = 16 * 1024;

thread_local! {
  /// This thread's read buffer: every read task of the runtime thread reads into the same one
  /// (a read and the filing of its bytes happen without an await in between), and the JS
  /// thread's `assist_read` into its own. Small reads are copied out of it, large ones take
  /// its allocation along (see `Inbox::append`), so an idle connection holds no buffer.
  static READ_BUF: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// Run `f` with this thread's read buffer, with room for a read.
fn with_read_buf<R>(f: impl FnOnce(&mut BytesMut) -> R) -> R {
  READ_BUF.with(|buf| {
    let mut buf = buf.borrow_mut();
    if buf.capacity() - buf.len() < MIN_READ_ROOM {
      buf.reserve(READ_CHUNK);
    }
    f(&mut buf)
  })
}

/// What a read brought (`SocketShared::file_read`).
#[derive(PartialEq, Eq)]
enum Filed {
  /// Nothing to read yet.
  Nothing,
  /// Data.
  Data,
  /// The end of the stream or an error: the reading is over.
  Ended,
}

/// Tasks a socket may have at once: its read task, a connect and a flush (with one spare).
const TASK_SLOTS: usize = 4;

/// Results of `write`, `writev` and `shutdown` besides a negative errno.
pub const DONE: i32 = 0;
pub const PENDING: i32 = 1;

/// Descriptors that JS has closed but an aborted task still holds: the runtime thread closes
/// each a moment later, when the task lets go of it. For Node a closed socket's descriptor is
/// free at once, so an accept that finds the table full while this is not zero waits for
/// them (see `server.rs`) rather than dropping the connection.
static CLOSING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether closed sockets' descriptors are still on their way to being closed.
pub fn descriptors_closing() -> bool {
  CLOSING.load(Ordering::Acquire) > 0
}

/// Counts its connection in `CLOSING` from `mark` until it is dropped (after the descriptor).
#[derive(Default)]
struct ClosingMark(AtomicBool);

impl ClosingMark {
  fn mark(&self) {
    if !self.0.swap(true, Ordering::AcqRel) {
      CLOSING.fetch_add(1, Ordering::AcqRel);
    }
  }
}

impl Drop for ClosingMark {
  fn drop(&mut self) {
    if *self.0.get_mut() {
      CLOSING.fetch_sub(1, Ordering::AcqRel);
    }
  }
}

/// A connected descriptor. Dropping the last reference closes it.
pub struct Conn {
  /// Declared before `closing` so the descriptor is closed before it stops counting as
  /// closing.
  pub stream: Stream,
  closing: ClosingMark,
}

impl Conn {
  fn new(stream: Stream) -> Self {
    Conn {
      stream,
      closing: ClosingMark::default(),
    }
  }
}

/// Data read ahead of JS.
#[derive(Default)]
pub struct Inbox {
  /// Reads not yet handed to JS, in order. A small read joins a small chunk before it, so
  /// many small messages cross as one buffer; larger reads stay separate, each split off the
  /// reader's buffer, and are handed over without a copy.
  pub chunks: Vec<BytesMut>,
  /// Total bytes in `chunks` (the read-ahead bound is checked against it).
  pub len: usize,
  /// The peer sent FIN.
  pub eof: bool,
  /// A read failed with this negative errno (0: none).
  pub errno: i32,
  /// A `Readable` event for this inbox is in the queue; more data just joins it.
  pub queued: bool,
  /// While JS is paused, each read waits for JS to take the previous one and ask for more
  /// (`read_more`), so that nothing is read past the point where Node would stop.
  pub awaiting_js: bool,
  /// Direct reads: the socket has something to read (data, EOF or an error) and JS reads it
  /// itself, into its own buffer.
  pub ready: bool,
  /// Bytes read since the socket was last drained, modulo 64 KiB (see `HANG_UP_IS_EOF`).
  pub run: u16,
}

impl Inbox {
  /// Add one read's bytes; `buf` is left empty. A large read is split off the reader's buffer
  /// (no copy; the room after it stays the reader's for the next read); a small one is
  /// copied, so that many small messages cross as one chunk and none holds a large
  /// allocation.
  fn append(&mut self, buf: &mut BytesMut) {
    self.len += buf.len();
    match self.chunks.last_mut() {
      Some(last) if last.len() + buf.len() <= COALESCE_LIMIT => {
        last.extend_from_slice(buf);
        buf.clear();
      }
      _ if buf.len() < COALESCE_LIMIT => {
        self.chunks.push(BytesMut::from(&buf[..]));
        buf.clear();
      }
      _ => self.chunks.push(buf.split()),
    }
  }

  /// Everything read so far (JS thread, when the `Readable` event is delivered).
  pub fn take(&mut self) -> Vec<BytesMut> {
    self.len = 0;
    self.queued = false;
    std::mem::take(&mut self.chunks)
  }
}

/// What the kernel did not take yet, in order.
#[derive(Default)]
struct Outbox {
  bufs: std::collections::VecDeque<Bytes>,
  /// Write requests (JS callbacks) that complete when `bufs` is empty.
  requests: u32,
  /// A flush task is running.
  flushing: bool,
  /// Send FIN once `bufs` is empty.
  shutdown: bool,
}

/// State shared between a `SocketHandle` (JS thread) and its tasks (runtime thread).
pub struct SocketShared {
  pub id: u32,
  queue: Arc<EventQueue>,
  /// The connection, once there is one; taken away on close.
  conn: Mutex<Option<Arc<Conn>>>,
  pub inbox: Mutex<Inbox>,
  outbox: Mutex<Outbox>,
  /// JS wants data (`readStart`); the read task sleeps while false.
  reading: AtomicBool,
  /// The read-ahead bound in bytes (`READ_AHEAD` while JS is flowing, else the paused one).
  read_ahead: std::sync::atomic::AtomicUsize,
  /// The read task, while it waits for reading to be wanted or for room in the inbox; woken
  /// (`wake_reader`) when reading starts or JS took data. A waker slot rather than a
  /// `Notify`: its waiter would live in the read task's future, every idle connection's cost.
  read_waker: Mutex<Option<std::task::Waker>>,
  /// Tasks to stop when the handle closes: the read task, and at most one connect and one
  /// flush task at a time (see `add_task`). Fixed slots: no allocation per connection.
  tasks: Mutex<[Option<AbortHandle>; TASK_SLOTS]>,
  /// The descriptor of a connect under way (owned by its task), for `getsockname` while
  /// connecting; cleared under the lock before the task lets go of it. A failed connect's
  /// descriptor stays here until the handle closes (see `ConnectFd`).
  connecting_fd: Mutex<Option<ConnectFd>>,
  /// Direct reads (the `onread` option): the read task only waits for readiness and tells JS,
  /// which then reads straight into the caller's buffer (`read_into`) until the socket is
  /// drained, as libuv reads into the buffer `onread` gives it: no copy, no allocation.
  direct: AtomicBool,
  /// The read task took a peer's reset (`recv` gave ECONNRESET, which the kernel reports
  /// once). A write after it gets EPIPE, where Node, which reads and writes on one thread,
  /// would have got the reset itself: see `write_errno`.
  reset_read: AtomicBool,
  /// Held around each `recv` and the filing of its result in the inbox, by the read task or
  /// by the JS thread (`assist_read`), so that bytes reach the inbox in the order they were
  /// read.
  read_lock: Mutex<()>,
  /// JS closed the handle: nothing a task still running finds is delivered.
  pub closed: AtomicBool,
  /// The connect task has queued its outcome (see `SocketHandle::await_own_connect`).
  connect_settled: AtomicBool,
}

/// The descriptor of a connect, in `connecting_fd`.
enum ConnectFd {
  /// Under way: the connect task owns it.
  UnderWay(RawFd),
  /// The connect failed: libuv keeps the descriptor until the handle closes, and Node names
  /// its local address in the error of a `connect()` again before the failure is reported
  /// (EALREADY).
  Failed(std::os::fd::OwnedFd),
}

impl ConnectFd {
  fn raw(&self) -> RawFd {
    match self {
      ConnectFd::UnderWay(fd) => *fd,
      ConnectFd::Failed(fd) => fd.as_raw_fd(),
    }
  }
}

/// The stream of a connect under way, recorded in `connecting_fd`. Dropped (its task was
/// aborted, or registering failed), it clears the record before the descriptor closes; a
/// connect that failed hands its descriptor to the record (`keep_failed`); a connect that
/// succeeded takes the stream out and drops this once the connection is attached, so that
/// the descriptor is always found by one of the two (a `connect()` again then gets the
/// kernel's EISCONN, never an EALREADY of the moment in between).
struct Connecting<'a> {
  shared: &'a SocketShared,
  stream: Option<Stream>,
}

impl Connecting<'_> {
  fn stream(&self) -> &Stream {
    self.stream.as_ref().expect("a connecting stream")
  }

  /// The connect failed: keep its descriptor recorded until the handle closes (unless it has
  /// closed already: `close` sets `closed` before it takes the record).
  fn keep_failed(&mut self) {
    let Some(fd) = self.stream.take().and_then(|s| s.into_fd().ok()) else {
      return;
    };
    let mut record = lock(&self.shared.connecting_fd);
    if !self.shared.closed.load(Ordering::Acquire) {
      *record = Some(ConnectFd::Failed(fd));
    }
  }
}

impl Drop for Connecting<'_> {
  fn drop(&mut self) {
    let mut record = lock(&self.shared.connecting_fd);
    if matches!(*record, Some(ConnectFd::UnderWay(_))) {
      record.take();
    }
    drop(record);
    self.stream.take();
  }
}

impl SocketShared {
  /// `reading`: whether the read task may read as soon as there is a connection. Node starts
  /// reading every new connection at once (unless `pauseOnConnect`), so starting here saves a
  /// wake-up of the runtime thread per connection.
  pub fn new(queue: Arc<EventQueue>, reading: bool) -> Arc<Self> {
    let id = queue.next_id();
    Arc::new(SocketShared {
      id,
      queue,
      conn: Mutex::new(None),
      inbox: Mutex::new(Inbox::default()),
      outbox: Mutex::new(Outbox::default()),
      reading: AtomicBool::new(reading),
      read_ahead: std::sync::atomic::AtomicUsize::new(READ_AHEAD),
      read_waker: Mutex::new(None),
      tasks: Mutex::new([const { None }; TASK_SLOTS]),
      connecting_fd: Mutex::new(None),
      direct: AtomicBool::new(false),
      reset_read: AtomicBool::new(false),
      closed: AtomicBool::new(false),
      connect_settled: AtomicBool::new(false),
      read_lock: Mutex::new(()),
    })
  }

  /// Adopt a connected stream (runtime thread: accepted or just connected) and start the
  /// read task.
  pub fn attach(self: &Arc<Self>, stream: Stream) {
    let conn = Arc::new(Conn::new(stream));
    *lock(&self.conn) = Some(conn.clone());
    let task = tokio::spawn(read_loop(self.clone(), conn));
    self.add_task(task.abort_handle());
  }

  /// Keep `task` to abort on close, in a free slot or one whose task has finished. (A
  /// connect task ends once it has started the read task; a flush task ends before the next
  /// one starts. The slot that is never free cannot happen; it would only leave a finishing
  /// task unaborted.)
  fn add_task(&self, task: AbortHandle) {
    let mut tasks = lock(&self.tasks);
    let free = tasks
      .iter()
      .position(|t| t.as_ref().is_none_or(AbortHandle::is_finished));
    debug_assert!(free.is_some(), "more tasks than TASK_SLOTS");
    tasks[free.unwrap_or(0)] = Some(task);
  }

  /// Abort the handle's tasks (on close).
  fn abort_tasks(&self) {
    for task in lock(&self.tasks).iter_mut().filter_map(Option::take) {
      task.abort();
    }
  }

  fn conn(&self) -> Option<Arc<Conn>> {
    lock(&self.conn).clone()
  }

  /// Run `f` on the descriptor of a connect under way, if there is one (`connecting_fd`).
  fn with_connecting_fd<R>(&self, f: impl FnOnce(SockRef<'_>) -> R) -> Option<R> {
    let connecting = lock(&self.connecting_fd);
    // SAFETY: the connect task keeps the descriptor open while it is recorded, and clears it
    // under this lock before letting go; borrowed while the lock is held.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(connecting.as_ref()?.raw()) };
    Some(f(SockRef::from(&fd)))
  }

  /// Called on the JS thread after it took the inbox's contents: let the reader go on.
  pub fn inbox_drained(&self) {
    self.wake_reader();
  }

  /// Wake the read task if it waits in `wait_for_room` (callers change what it checks first).
  fn wake_reader(&self) {
    if let Some(waker) = lock(&self.read_waker).take() {
      waker.wake();
    }
  }

  /// Whether the read task may read now: JS wants data and the inbox has room.
  fn room_to_read(&self) -> bool {
    if !self.reading.load(Ordering::Acquire) {
      return false;
    }
    let limit = self.read_ahead.load(Ordering::Relaxed);
    let inbox = lock(&self.inbox);
    if limit == READ_AHEAD_PAUSED || self.direct.load(Ordering::Relaxed) {
      !inbox.awaiting_js
    } else {
      inbox.len < limit
    }
  }

  /// Wait until `room_to_read`. The waker is stored before the check, and whoever changes
  /// what the check reads takes it afterwards, so no wake-up is lost.
  fn poll_room(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
    {
      let mut slot = lock(&self.read_waker);
      if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
      }
    }
    if self.room_to_read() {
      // (A waker left in the slot would keep the task's memory after the task ends.)
      lock(&self.read_waker).take();
      std::task::Poll::Ready(())
    } else {
      std::task::Poll::Pending
    }
  }

  /// The errno to report for a failed write: EPIPE after a reset the read task took is the
  /// reset itself (Node's write would have been the first to see it).
  fn write_errno(&self, errno: i32) -> i32 {
    if errno == -libc::EPIPE && self.reset_read.swap(false, Ordering::AcqRel) {
      -libc::ECONNRESET
    } else {
      errno
    }
  }

  /// One read on the JS thread, while it waits for the next batch (see `spin`): in
  /// request/response traffic the answer to what JS just wrote comes while JS is still awake,
  /// and taking it here spares the wake-up of the runtime thread and the hand-over from it.
  /// What is read is filed in the inbox exactly as the read task files it (a `Readable` event
  /// follows). Only a flowing stream is read this way; returns whether anything came (data,
  /// end of stream or an error).
  pub fn assist_read(self: &Arc<Self>) -> bool {
    self.read_on_js_thread(false)
  }

  /// `assist_read`; with `wait`, a read under way on the runtime thread is waited for instead
  /// of skipping this one.
  fn read_on_js_thread(self: &Arc<Self>, wait: bool) -> bool {
    // (`reading` is cleared by `close` too.)
    if !self.reading.load(Ordering::Acquire)
      || self.direct.load(Ordering::Relaxed)
      || self.read_ahead.load(Ordering::Relaxed) != READ_AHEAD
    {
      return false;
    }
    let _reading = match self.read_lock.try_lock() {
      Ok(guard) => guard,
      Err(std::sync::TryLockError::WouldBlock) if wait => lock(&self.read_lock),
      Err(_) => return false,
    };
    let Some(conn) = self.conn() else {
      return false;
    };
    let max = {
      let inbox = lock(&self.inbox);
      if inbox.eof || inbox.errno != 0 || inbox.len >= READ_AHEAD {
        return false;
      }
      self.read_size(inbox.len)
    };
    with_read_buf(|buf| {
      // A plain `recv`: tokio's readiness for this socket is only updated on the runtime
      // thread, after its own wake-up, which is what this read is ahead of.
      let result = recv_into(&conn.stream, buf, max);
      let drained = matches!(result, Ok((_, true)));
      let result = result.map(|(n, _)| n);
      self.file_read(result, buf, drained.then_some(&conn.stream)) != Filed::Nothing
    })
  }

  /// How much the next read may take, with `inbox_len` bytes already read ahead: the room
  /// left under the read-ahead bound while JS flows, else what libuv would read.
  fn read_size(&self, inbox_len: usize) -> usize {
    if self.read_ahead.load(Ordering::Relaxed) == READ_AHEAD {
      LIBUV_READ.max(READ_AHEAD.saturating_sub(inbox_len))
    } else {
      LIBUV_READ
    }
  }

  /// File the outcome of a read into `buf` (its bytes, the end of the stream or an error) in
  /// the inbox, and queue a `Readable` event for it. `drained`: the read was short, it
  /// emptied this stream. The caller holds `read_lock`.
  fn file_read(
    self: &Arc<Self>,
    result: io::Result<usize>,
    buf: &mut BytesMut,
    drained: Option<&Stream>,
  ) -> Filed {
    let mut inbox = lock(&self.inbox);
    let filed = match result {
      Ok(0) => {
        inbox.eof = true;
        Filed::Ended
      }
      Ok(n) => {
        inbox.append(buf);
        inbox.awaiting_js = true;
        if HANG_UP_IS_EOF.load(Ordering::Relaxed) {
          // (Modulo 64 KiB: `as u16` keeps the low 16 bits.)
          inbox.run = inbox.run.wrapping_add(n as u16);
          if let Some(stream) = drained {
            let short_for_libuv = std::mem::take(&mut inbox.run) != 0;
            if short_for_libuv && stream.hung_up() {
              inbox.eof = true;
            }
          }
        }
        if inbox.eof {
          Filed::Ended
        } else {
          Filed::Data
        }
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
        inbox.run = 0;
        return Filed::Nothing;
      }
      Err(e) => {
        inbox.errno = errno_of(&e);
        if inbox.errno == -libc::ECONNRESET {
          self.reset_read.store(true, Ordering::Release);
        }
        Filed::Ended
      }
    };
    self.queue_readable(&mut inbox);
    filed
  }

  /// What JS gets of the inbox now (JS thread, delivering a `Readable` event): the data read
  /// (`chunks`), whether the stream ended, a read error (negative errno, 0: none), and whether
  /// direct reads may go on (`ready`). A read error that came after data is held back for
  /// the next batch, as libuv reports it to the read after the one that returned the data:
  /// whatever JS does with the data first (an echo whose write meets the same reset, which
  /// Node then reports as `write ECONNRESET`) happens first.
  pub fn take_inbox(self: &Arc<Self>) -> (Vec<BytesMut>, bool, i32, bool) {
    let mut inbox = lock(&self.inbox);
    let ready = std::mem::take(&mut inbox.ready);
    let chunks = inbox.take();
    let mut errno = inbox.errno;
    if errno != 0 && !chunks.is_empty() {
      errno = 0;
      self.queue_readable(&mut inbox);
    }
    (chunks, inbox.eof, errno, ready)
  }

  fn queue_readable(self: &Arc<Self>, inbox: &mut Inbox) {
    if !inbox.queued {
      inbox.queued = true;
      let event = Event::Readable { socket: self.clone() };
      if inbox.eof || inbox.errno != 0 {
        self.queue.push_read_end(self.id, event);
      } else {
        self.queue.push(event);
      }
    }
  }
}

/// Whether the kernel has finished the connect of `fd`, one way or the other (writable, or an
/// error), asked without waiting. A descriptor closed meanwhile reads as not finished.
fn connect_finished(fd: RawFd) -> bool {
  let mut pfd = libc::pollfd {
    fd,
    events: libc::POLLOUT,
    revents: 0,
  };
  // SAFETY: one pollfd, no waiting; an invalid descriptor is reported in `revents` (POLLNVAL).
  let ready = unsafe { libc::poll(&mut pfd, 1, 0) } == 1;
  ready && pfd.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0
}

/// `SocketHandle::connect`: under way, to a server of this environment.
#[napi]
pub const CONNECT_TO_OWN_SERVER: i32 = 1;

/// The longest `await_own_connect` waits for the runtime thread (microseconds as a rule; this
/// bound is for a machine so loaded that the thread waits for a core).
const OWN_CONNECT_WAIT: Duration = Duration::from_millis(50);

/// Reports a panic in a task as a socket error instead of letting the task vanish silently.
struct PanicGuard<'a>(&'a Arc<SocketShared>);

impl Drop for PanicGuard<'_> {
  fn drop(&mut self) {
    if std::thread::panicking() {
      let mut inbox = lock(&self.0.inbox);
      inbox.errno = -libc::EIO;
      self.0.queue_readable(&mut inbox);
    }
  }
}

/// Read while JS wants data and the read-ahead has room; stop at EOF or error.
async fn read_loop(shared: Arc<SocketShared>, conn: Arc<Conn>) {
  let _guard = PanicGuard(&shared);
  loop {
    // Wait until reading is wanted and there is room.
    if !shared.room_to_read() {
      std::future::poll_fn(|cx| shared.poll_room(cx)).await;
    }
    if shared.direct.load(Ordering::Relaxed) {
      // JS reads until the kernel has nothing more (its `WouldBlock` clears the readiness),
      // then asks again with `read_more`.
      let ready = std::future::poll_fn(|cx| conn.stream.poll_read_ready(cx)).await;
      if ready.is_ok() && !shared.reading.load(Ordering::Acquire) {
        continue;
      }
      let mut inbox = lock(&shared.inbox);
      match ready {
        Ok(()) => {
          inbox.ready = true;
          inbox.awaiting_js = true;
          shared.queue_readable(&mut inbox);
          continue;
        }
        Err(e) => {
          inbox.errno = errno_of(&e);
          shared.queue_readable(&mut inbox);
          return;
        }
      }
    }
    let ready = std::future::poll_fn(|cx| conn.stream.poll_read_ready(cx)).await;
    // JS may have stopped reading while this task waited: then, as libuv once `readStop`
    // took the socket out of the poll set, nothing is read (a peer's reset then goes to a
    // pending write, as with Node). The readiness stays for when reading starts again.
    if ready.is_ok() && !shared.reading.load(Ordering::Acquire) {
      continue;
    }
    let _reading = lock(&shared.read_lock);
    let mut max = LIBUV_READ;
    if ready.is_ok() {
      let inbox = lock(&shared.inbox);
      if inbox.eof || inbox.errno != 0 {
        // The JS thread's `assist_read` met the end of the stream.
        return;
      }
      max = shared.read_size(inbox.len);
    }
    let filed = match ready {
      Ok(()) => with_read_buf(|buf| {
        let (result, drained) = read_some(&conn.stream, buf, max);
        shared.file_read(result, buf, drained.then_some(&conn.stream))
      }),
      Err(e) => shared.file_read(Err(e), &mut BytesMut::new(), None),
    };
    if filed == Filed::Ended {
      return;
    }
  }
}

/// One plain `recv` of at most `max` bytes into the spare room of `buf`, its bytes appended:
/// the count, and whether the read came short of the room (then it drained the socket).
fn recv_into(stream: &Stream, buf: &mut BytesMut, max: usize) -> io::Result<(usize, bool)> {
  let spare = buf.spare_capacity_mut();
  let room = spare.len().min(max);
  let n = SockRef::from(stream).recv(&mut spare[..room])?;
  // SAFETY: `recv` initialised the first `n` bytes of the spare room.
  unsafe { buf.set_len(buf.len() + n) };
  Ok((n, n > 0 && n < room))
}

/// One `recv` of at most `max` bytes into the spare room of `buf` through tokio's readiness,
/// and whether it drained the socket.
///
/// A read that does not fill the room drained the socket: its readiness is cleared right away
/// (by answering `WouldBlock` to tokio's `try_io`), which spares the `recv` that would only
/// return `EAGAIN`. Edge-triggered epoll reports the next data as a new event, so nothing is
/// missed.
fn read_some(stream: &Stream, buf: &mut BytesMut, max: usize) -> (io::Result<usize>, bool) {
  let mut nread = 0;
  let result = stream.try_io(tokio::io::Interest::READABLE, || {
    let (n, drained) = recv_into(stream, buf, max)?;
    nread = n;
    if drained {
      return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(n)
  });
  match result {
    Err(e) if e.kind() == io::ErrorKind::WouldBlock && nread > 0 => (Ok(nread), true),
    other => (other, false),
  }
}

/// Flush the outbox in the background, then send FIN if asked to.
async fn flush_loop(shared: Arc<SocketShared>, conn: Arc<Conn>) {
  let _guard = PanicGuard(&shared);
  loop {
    let ready = conn.stream.writable().await;
    let mut out = lock(&shared.outbox);
    let result = ready.and_then(|_| {
      let slices: Vec<IoSlice<'_>> = out.bufs.iter().take(64).map(|b| IoSlice::new(b)).collect();
      conn.stream.try_write_vectored(&slices)
    });
    match result {
      Ok(mut n) => {
        while n > 0 {
          let front = out.bufs.front_mut().expect("wrote more than was queued");
          let k = n.min(front.len());
          front.advance(k);
          n -= k;
          if front.is_empty() {
            out.bufs.pop_front();
          }
        }
        if out.bufs.is_empty() {
          let count = std::mem::take(&mut out.requests);
          out.flushing = false;
          shared.queue.push(Event::WriteDone {
            id: shared.id,
            errno: 0,
            count,
          });
          if std::mem::take(&mut out.shutdown) {
            let errno = match conn.stream_shutdown() {
              Ok(()) => 0,
              Err(e) => errno_of(&e),
            };
            shared.queue.push(Event::ShutdownDone { id: shared.id, errno });
          }
          return;
        }
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
      Err(e) => {
        let errno = shared.write_errno(errno_of(&e));
        out.bufs.clear();
        out.flushing = false;
        let count = std::mem::take(&mut out.requests);
        surface_read_error(&shared, &conn, errno);
        shared.queue.push(Event::WriteDone {
          id: shared.id,
          errno,
          count,
        });
        if std::mem::take(&mut out.shutdown) {
          shared.queue.push(Event::ShutdownDone { id: shared.id, errno });
        }
        return;
      }
    }
  }
}

/// After a failed write, report what the read side has first, as libuv does (it handles a
/// socket's readable events before its writable ones): a peer's reset then reaches JS as
/// `read ECONNRESET`, the socket is destroyed, and the pending write's callback is cancelled
/// rather than failed. Only while JS reads; otherwise the write error stands alone.
///
/// The failed write has already taken the socket's pending error, so a reset now reads as end
/// of stream; `write_errno` tells which it really was.
fn surface_read_error(shared: &Arc<SocketShared>, conn: &Conn, write_errno: i32) {
  if !shared.reading.load(Ordering::Acquire) {
    return;
  }
  let _reading = lock(&shared.read_lock);
  let mut inbox = lock(&shared.inbox);
  if inbox.eof || inbox.errno != 0 {
    return;
  }
  let sock = SockRef::from(&conn.stream);
  let mut buf = BytesMut::new();
  loop {
    buf.reserve(LIBUV_READ);
    // A direct `recv`, not tokio's `try_io`: the read task may have consumed the readiness.
    match sock.recv(buf.spare_capacity_mut()) {
      Ok(0) if write_errno == -libc::ECONNRESET => {
        inbox.errno = write_errno;
        break;
      }
      Ok(0) => {
        inbox.eof = true;
        break;
      }
      Ok(n) => {
        // SAFETY: `recv` initialised the first `n` bytes of the spare room.
        unsafe { buf.set_len(buf.len() + n) };
        inbox.append(&mut buf);
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
      Err(e) => {
        inbox.errno = errno_of(&e);
        break;
      }
    }
  }
  shared.queue_readable(&mut inbox);
}

impl Conn {
  fn stream_shutdown(&self) -> io::Result<()> {
    SockRef::from(&self.stream).shutdown(std::net::Shutdown::Write)
  }
}

/// An address as `address()` reports it.
#[napi(object)]
pub struct SocketName {
  pub address: String,
  pub family: String,
  pub port: u32,
}

impl From<SocketAddr> for SocketName {
  fn from(addr: SocketAddr) -> Self {
    SocketName {
      address: addr.ip().to_string(),
      family: if addr.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
      port: addr.port() as u32,
    }
  }
}

/// What the kernel knows of a TCP connection (`TCP_INFO`), for `socket.getTcpInfo()`.
/// Times are in microseconds, windows in segments.
#[napi(object)]
pub struct TcpInfo {
  /// The TCP state (1 = established, as in the kernel's `TCP_ESTABLISHED`).
  pub state: u32,
  /// Smoothed round-trip time.
  pub rtt: u32,
  /// Its mean deviation.
  pub rtt_var: u32,
  /// The smallest round-trip time seen.
  pub min_rtt: u32,
  /// Congestion window.
  pub cwnd: u32,
  /// Slow-start threshold.
  pub ssthresh: u32,
  /// Sending maximum segment size, in bytes.
  pub mss: u32,
  /// Retransmissions of the current unacknowledged segment.
  pub retransmits: u32,
  /// Retransmitted segments over the connection's life.
  pub total_retransmits: u32,
  /// Segments sent and not yet acknowledged (nor known lost).
  pub packets_in_flight: u32,
  /// `packets_in_flight` in bytes, estimated with the segment size.
  pub bytes_in_flight: f64,
  /// Bytes written but not yet sent.
  pub not_sent_bytes: u32,
  pub bytes_acked: f64,
  pub bytes_received: f64,
}

/// Parse an IP address and port given by JS (already validated there).
pub fn socket_addr(address: &str, port: u32) -> io::Result<SocketAddr> {
  let ip: IpAddr = address
    .parse()
    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
  let port = u16::try_from(port).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
  Ok(SocketAddr::new(ip, port))
}

/// The native half of a `net.Socket`.
#[napi]
pub struct SocketHandle {
  shared: Arc<SocketShared>,
  /// The connection, cached on the JS thread so the write path takes no lock.
  conn: Option<Arc<Conn>>,
  /// A socket created by `bind` and not yet connecting.
  unconnected: Option<Socket>,
  /// A connect or connection ever started (the handle cannot connect or open again).
  opened: bool,
  closed: bool,
}

/// What kind of socket a descriptor is, as libuv's `uv_guess_handle` names it for sockets:
/// `'TCP'`, `'PIPE'` (Unix stream socket), `'UDP'` or `'UNKNOWN'`. The descriptor stays open.
#[napi(catch_unwind)]
pub fn socket_kind(fd: i32) -> String {
  // SAFETY: borrowed only for two getsockopt calls; `ManuallyDrop` keeps it open.
  let socket = std::mem::ManuallyDrop::new(unsafe { Socket::from_raw_fd(fd) });
  let (Ok(domain), Ok(ty)) = (socket.domain(), socket.r#type()) else {
    return "UNKNOWN".into();
  };
  match (domain, ty) {
    (Domain::IPV4 | Domain::IPV6, Type::STREAM) => "TCP",
    (Domain::IPV4 | Domain::IPV6, Type::DGRAM) => "UDP",
    (Domain::UNIX, Type::STREAM) => "PIPE",
    _ => "UNKNOWN",
  }
  .into()
}

/// A connect syscall made on the JS thread, waiting to complete.
enum Pending {
  Tcp(std::net::TcpStream),
  Unix(std::os::unix::net::UnixStream),
}

impl Pending {
  fn raw_fd(&self) -> RawFd {
    match self {
      Pending::Tcp(s) => s.as_raw_fd(),
      Pending::Unix(s) => s.as_raw_fd(),
    }
  }

  /// Register with the runtime's reactor (runtime thread).
  fn into_stream(self) -> io::Result<Stream> {
    Ok(match self {
      Pending::Tcp(s) => Stream::Tcp(TcpStream::from_std(s)?),
      Pending::Unix(s) => Stream::Unix(UnixStream::from_std(s)?),
    })
  }
}

/// A non-blocking connect: done, or under way.
fn start_connect(socket: &Socket, addr: &SockAddr) -> io::Result<()> {
  match socket.connect(addr) {
    Ok(()) => Ok(()),
    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
    Err(e) => Err(e),
  }
}

/// bind(2) as libuv's TCP bind does it, whose answers Node reports:
/// - SO_REUSEADDR first, on every bind, so a local port held by a socket that is not
///   listening (closing, TIME_WAIT, a connect being abandoned) can be bound again;
/// - for an IPv6 address, IPV6_V6ONLY off first: on an IPv4 descriptor (a handle bound or
///   connected before) that fails, and its ENOPROTOOPT is the answer;
/// - EAFNOSUPPORT from bind(2) becomes EINVAL.
fn bind_as_libuv(socket: SockRef<'_>, addr: &SockAddr) -> io::Result<()> {
  socket.set_reuse_address(true)?;
  if addr.is_ipv6() {
    socket.set_only_v6(false)?;
  }
  socket.bind(addr).map_err(|e| match e.raw_os_error() {
    Some(libc::EAFNOSUPPORT) => io::Error::from_raw_os_error(libc::EINVAL),
    _ => e,
  })
}

impl SocketHandle {
  /// `bind` on a handle that already has a descriptor (bound, connecting or connected), as
  /// libuv does it: bind(2) on that descriptor and the kernel's answer (EINVAL: already
  /// bound). None when the handle has no descriptor yet.
  fn bind_existing(&mut self, addr: &SockAddr) -> Option<i32> {
    let rc = |r: io::Result<()>| r.map_or_else(|e| errno_of(&e), |()| 0);
    if let Some(socket) = &self.unconnected {
      return Some(rc(bind_as_libuv(SockRef::from(socket), addr)));
    }
    if let Some(conn) = self.conn() {
      return Some(rc(bind_as_libuv(SockRef::from(&conn.stream), addr)));
    }
    self.shared.with_connecting_fd(|fd| rc(bind_as_libuv(fd, addr)))
  }

  /// `connect` on a handle that already has a descriptor, as libuv does it (a `net.Socket`
  /// connected again without being destroyed): EALREADY while a connect is under way, else
  /// connect(2) on the connection itself and the kernel's answer (Linux: EISCONN): 0 with a
  /// `Connected` event queued, or a negative errno. None when the handle has no descriptor yet.
  fn connect_again(&mut self, addr: &SockAddr) -> Option<i32> {
    if !self.opened || self.unconnected.is_some() {
      return None;
    }
    let result = match self.conn() {
      Some(conn) => SockRef::from(&conn.stream).connect(addr),
      // A Unix socket connect not settled yet: libuv's pipe connect has no EALREADY, it asks
      // the kernel (connect(2) on the descriptor, EISCONN as a rule).
      None if addr.is_unix() => match self.shared.with_connecting_fd(|fd| fd.connect(addr)) {
        Some(result) => result,
        None => return Some(-libc::EALREADY),
      },
      None => return Some(-libc::EALREADY),
    };
    Some(match result {
      Ok(()) => {
        self.shared.queue.push(Event::Connected { id: self.shared.id });
        0
      }
      Err(e) => errno_of(&e),
    })
  }

  /// Wait on the runtime for a connect started on the JS thread; `Connected` or
  /// `ConnectFailed` follows. `peer_port`: the TCP port connected to (None: a Unix socket).
  /// Returns `CONNECT_TO_OWN_SERVER` for a connect to a server of this environment.
  fn await_connection(&mut self, pending: Pending, peer_port: Option<u16>) -> i32 {
    self.opened = true;
    let to_own_server = match peer_port {
      // (No server listens on port 0: the connect is refused, settled right here.)
      Some(0) => false,
      // (The listeners' registry names Unix servers by port 0.)
      port => with_engine(|e| e.may_listen_on(port.unwrap_or(0))).unwrap_or(true),
    };
    let shared = self.shared.clone();
    // A connect to a server of this environment is reported through the runtime, after the
    // server's accept: Node emits the server's 'connection' before the client's 'connect'.
    let pending = match to_own_server {
      true => pending,
      false => match self.settle_at_once(pending) {
        Ok(()) => return 0,
        Err(under_way) => under_way,
      },
    };
    *lock(&shared.connecting_fd) = Some(ConnectFd::UnderWay(pending.raw_fd()));
    shared.connect_settled.store(false, Ordering::Release);
    let task = with_engine(|e| {
      e.spawn(async move {
        let _guard = PanicGuard(&shared);
        let outcome = async {
          // (If registering fails, the descriptor is closed before `connecting_fd` is cleared
          // here: a `getsockname` in that moment may name another socket; nothing worse.)
          let mut connecting = Connecting {
            shared: &shared,
            stream: None,
          };
          connecting.stream = Some(pending.into_stream()?);
          let connected = async {
            connecting.stream().writable().await?;
            match connecting.stream().take_error()? {
              Some(e) => Err(e),
              None => Ok(()),
            }
          }
          .await;
          match connected {
            Ok(()) => Ok(connecting),
            Err(e) => {
              connecting.keep_failed();
              Err(e)
            }
          }
        }
        .await;
        match outcome {
          Ok(mut connecting) => {
            let stream = connecting.stream.take().expect("a connecting stream");
            shared.attach(stream);
            drop(connecting);
            shared.queue.push(Event::Connected { id: shared.id });
          }
          Err(e) => {
            shared.queue.push(Event::ConnectFailed {
              id: shared.id,
              errno: errno_of(&e),
            });
          }
        }
        shared.connect_settled.store(true, Ordering::Release);
      })
    });
    match task {
      Ok(t) => {
        self.shared.add_task(t);
        if to_own_server {
          CONNECT_TO_OWN_SERVER
        } else {
          0
        }
      }
      Err(_) => -libc::EINVAL,
    }
  }

  /// Settle a connect that completed inside connect(2), as loopback connects do: the kernel
  /// answered the handshake before the syscall returned. The outcome is queued from here, so
  /// the connect costs no round trip through the runtime thread. A connect still under way is
  /// handed back.
  fn settle_at_once(&mut self, pending: Pending) -> std::result::Result<(), Pending> {
    if !connect_finished(pending.raw_fd()) {
      return Err(pending);
    }
    let shared = &self.shared;
    if let Pending::Tcp(stream) = &pending {
      if let Ok(Some(err)) = stream.take_error() {
        // Failed at once: the descriptor stays with the handle until it closes, as libuv
        // keeps it (its local name is in Node's messages, an EALREADY's for one).
        shared.queue.push(Event::ConnectFailed {
          id: shared.id,
          errno: errno_of(&err),
        });
        if let Pending::Tcp(stream) = pending {
          self.unconnected = Some(Socket::from(std::os::fd::OwnedFd::from(stream)));
        }
        return Ok(());
      }
    }
    let outcome = with_engine(|e| {
      e.with_runtime(|_| {
        let stream = pending.into_stream()?;
        if let Some(err) = stream.take_error()? {
          return Err(err);
        }
        // Queued before the read task exists, so that no data can come before it. (Inside
        // the runtime's context: the read task is spawned here.)
        shared.queue.push(Event::Connected { id: shared.id });
        shared.attach(stream);
        Ok(())
      })
    });
    match outcome {
      Ok(Ok(())) => {}
      Ok(Err(e)) => {
        shared.queue.push(Event::ConnectFailed {
          id: shared.id,
          errno: errno_of(&e),
        });
      }
      Err(_) => shared.queue.push(Event::ConnectFailed {
        id: shared.id,
        errno: -libc::EINVAL,
      }),
    }
    Ok(())
  }

  /// Wrap an accepted connection (JS thread, when the `Connection` event is dispatched).
  pub fn accepted(shared: Arc<SocketShared>) -> Self {
    let conn = shared.conn();
    SocketHandle {
      shared,
      conn,
      unconnected: None,
      opened: true,
      closed: false,
    }
  }

  fn conn(&mut self) -> Option<&Arc<Conn>> {
    if self.conn.is_none() && !self.closed {
      self.conn = self.shared.conn();
    }
    self.conn.as_ref()
  }

  /// The outcome of a direct write of `total` bytes of which `sent` went out.
  fn after_direct_write(&mut self, sent: usize, total: usize, rest: impl FnOnce(usize) -> Vec<Bytes>) -> i32 {
    if sent == total {
      return DONE;
    }
    let conn = match self.conn() {
      Some(c) => c.clone(),
      None => return -libc::EBADF,
    };
    let mut out = lock(&self.shared.outbox);
    out.bufs.extend(rest(sent));
    out.requests += 1;
    if !out.flushing {
      out.flushing = true;
      drop(out);
      let task = with_engine(|e| e.spawn(flush_loop(self.shared.clone(), conn)));
      match task {
        Ok(t) => self.shared.add_task(t),
        Err(_) => return -libc::EBADF,
      }
    }
    PENDING
  }

  /// Whether data is waiting in the outbox (writes must queue behind it).
  fn outbox_busy(&self) -> bool {
    let out = lock(&self.shared.outbox);
    out.flushing || !out.bufs.is_empty()
  }
}

/// Copy `bufs` from byte `skip` on (the part the kernel did not take).
fn remainder(bufs: &[&[u8]], mut skip: usize) -> Vec<Bytes> {
  let mut rest = Vec::new();
  for b in bufs {
    if skip >= b.len() {
      skip -= b.len();
      continue;
    }
    rest.push(Bytes::copy_from_slice(&b[skip..]));
    skip = 0;
  }
  rest
}

#[napi]
impl SocketHandle {
  #[napi(constructor, catch_unwind)]
  pub fn new() -> Result<Self> {
    let shared = with_engine(|e| SocketShared::new(e.queue().clone(), true))?;
    Ok(SocketHandle {
      shared,
      conn: None,
      unconnected: None,
      opened: false,
      closed: false,
    })
  }

  /// Routing id of this handle's events.
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.shared.id
  }

  /// Create the socket and bind it to a local address; returns 0 or a negative errno.
  #[napi(catch_unwind)]
  pub fn bind(&mut self, address: String, port: u32) -> i32 {
    let addr = match socket_addr(&address, port) {
      Ok(addr) => addr,
      Err(e) => return errno_of(&e),
    };
    if let Some(rc) = self.bind_existing(&addr.into()) {
      return rc;
    }
    let result = (|| {
      let socket = Socket::new(Domain::for_address(addr), STREAM_NONBLOCKING, None)?;
      bind_as_libuv(SockRef::from(&socket), &addr.into())?;
      Ok::<_, io::Error>(socket)
    })();
    match result {
      Ok(s) => {
        self.unconnected = Some(s);
        0
      }
      Err(e) => errno_of(&e),
    }
  }

  /// Start connecting; 0 when under way (`Connected`/`ConnectFailed` follows),
  /// `CONNECT_TO_OWN_SERVER` when under way to a server of this environment over loopback
  /// (JS then calls `await_own_connect`), or a negative errno when the connect syscall failed
  /// at once.
  #[napi(catch_unwind)]
  pub fn connect(&mut self, address: String, port: u32) -> i32 {
    let addr = match socket_addr(&address, port) {
      Ok(addr) => addr,
      Err(e) => return errno_of(&e),
    };
    if let Some(rc) = self.connect_again(&addr.into()) {
      return rc;
    }
    let result = (|| {
      let socket = match self.unconnected.take() {
        Some(s) => s,
        None => Socket::new(Domain::for_address(addr), STREAM_NONBLOCKING, None)?,
      };
      if let Err(e) = start_connect(&socket, &addr.into()) {
        // Kept until closed, as libuv keeps it: the error names the local address.
        self.unconnected = Some(socket);
        return Err(e);
      }
      Ok::<_, io::Error>(Pending::Tcp(socket.into()))
    })();
    match result {
      Ok(pending) => match self.await_connection(pending, Some(addr.port())) {
        // (A server of this process on that port, but a connect to another machine: that
        // takes a network's round trip, not worth waiting for in `await_own_connect`.)
        CONNECT_TO_OWN_SERVER if !addr.ip().to_canonical().is_loopback() && !addr.ip().is_unspecified() => 0,
        rc => rc,
      },
      Err(e) => errno_of(&e),
    }
  }

  /// Start connecting to a Unix domain socket (a path, or a Linux abstract name starting with
  /// NUL; see `unix_addr` for `truncate_long`). As with libuv, every failure is reported by a
  /// later `ConnectFailed`, never at once.
  #[napi(catch_unwind)]
  pub fn connect_path(&mut self, path: String, truncate_long: bool) -> i32 {
    let result = (|| {
      let addr = crate::stream::unix_addr(&path, truncate_long)?;
      if let Some(rc) = self.connect_again(&addr) {
        return match rc {
          0 => Ok(None),
          errno => Err(io::Error::from_raw_os_error(-errno)),
        };
      }
      let socket = match self.unconnected.take() {
        Some(bound) => bound,
        None => Socket::new(Domain::UNIX, STREAM_NONBLOCKING, None)?,
      };
      start_connect(&socket, &addr)?;
      Ok::<_, io::Error>(Some(Pending::Unix(std::os::fd::OwnedFd::from(socket).into())))
    })();
    match result {
      // (A Unix connect to a server of this environment is not waited for: 0 all the same.)
      Ok(Some(pending)) => self.await_connection(pending, None).min(0),
      Ok(None) => 0,
      Err(e) => {
        self.shared.queue.push(Event::ConnectFailed {
          id: self.shared.id,
          errno: errno_of(&e),
        });
        0
      }
    }
  }

  /// Take over a bound socket that is not connected (`ServerHandle::release_bound`), TCP or
  /// Unix; the next `connect` or `connect_path` connects it from the address it is bound to.
  /// 0 or a negative errno.
  #[napi(catch_unwind)]
  pub fn adopt_bound(&mut self, fd: i32) -> i32 {
    if fd < 0 {
      return -libc::EINVAL;
    }
    // SAFETY: `release_bound` gave up this descriptor; from here this handle owns it (and
    // closes it when it cannot use it).
    let socket = unsafe { Socket::from_raw_fd(fd) };
    if self.opened || self.unconnected.is_some() {
      return -libc::EINVAL;
    }
    if let Err(e) = socket.set_nonblocking(true) {
      return errno_of(&e);
    }
    self.unconnected = Some(socket);
    0
  }

  /// Adopt a connected socket descriptor (`new Socket({ fd })`), which this handle then owns
  /// and closes; 0 or a negative errno.
  #[napi(catch_unwind)]
  pub fn open(&mut self, fd: i32) -> i32 {
    if self.opened {
      return -libc::EINVAL;
    }
    let shared = self.shared.clone();
    let opened = with_engine(|e| {
      e.with_runtime(|_| {
        // Borrowed until it proves to be a usable socket: a failure leaves it to its owner.
        let probe = std::mem::ManuallyDrop::new(unsafe { Socket::from_raw_fd(fd) });
        let domain = probe.domain()?;
        probe.set_nonblocking(true)?;
        // SAFETY: the caller hands this descriptor over (Node's `open` takes ownership too).
        let socket = std::mem::ManuallyDrop::into_inner(probe);
        let stream = match domain {
          Domain::UNIX => Stream::Unix(UnixStream::from_std(std::os::fd::OwnedFd::from(socket).into())?),
          _ => Stream::Tcp(TcpStream::from_std(socket.into())?),
        };
        shared.attach(stream);
        Ok::<_, io::Error>(())
      })
    });
    match opened {
      Ok(Ok(())) => {
        self.opened = true;
        0
      }
      Ok(Err(e)) => errno_of(&e),
      Err(_) => -libc::EINVAL,
    }
  }

  /// `TCP_INFO` of the connection; null when there is no TCP connection.
  #[napi(catch_unwind)]
  pub fn tcp_info(&mut self) -> Option<TcpInfo> {
    let conn = self.conn()?;
    let tcp = conn.stream.tcp()?;
    // SAFETY: a zeroed tcp_info is valid; the kernel fills at most `len` bytes of it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
      libc::getsockopt(
        tcp.as_raw_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_INFO,
        (&mut info as *mut libc::tcp_info).cast(),
        &mut len,
      )
    };
    if rc != 0 {
      return None;
    }
    let in_flight = (info.tcpi_unacked + info.tcpi_retrans).saturating_sub(info.tcpi_sacked + info.tcpi_lost);
    Some(TcpInfo {
      state: u32::from(info.tcpi_state),
      rtt: info.tcpi_rtt,
      rtt_var: info.tcpi_rttvar,
      min_rtt: info.tcpi_min_rtt,
      cwnd: info.tcpi_snd_cwnd,
      ssthresh: info.tcpi_snd_ssthresh,
      mss: info.tcpi_snd_mss,
      retransmits: u32::from(info.tcpi_retransmits),
      total_retransmits: info.tcpi_total_retrans,
      packets_in_flight: in_flight,
      bytes_in_flight: f64::from(in_flight) * f64::from(info.tcpi_snd_mss),
      not_sent_bytes: info.tcpi_notsent_bytes,
      bytes_acked: info.tcpi_bytes_acked as f64,
      bytes_received: info.tcpi_bytes_received as f64,
    })
  }

  /// Whether this is a Unix domain socket (JS gives such sockets no addresses, as Node does).
  #[napi(catch_unwind)]
  pub fn is_unix(&mut self) -> bool {
    self.conn().is_some_and(|c| matches!(c.stream, Stream::Unix(_)))
  }

  /// Let the read task deliver data.
  #[napi(catch_unwind)]
  pub fn read_start(&self) {
    lock(&self.shared.inbox).awaiting_js = false;
    if !self.shared.reading.swap(true, Ordering::AcqRel) {
      self.shared.wake_reader();
    }
  }

  /// Wait a moment for a connect to a server of this environment, which the runtime settles
  /// after the server's accept, so that both come in the loop's next poll phase, as in Node
  /// (JS thread, just before that poll).
  #[napi(catch_unwind)]
  pub fn await_own_connect(&mut self) {
    if self.closed {
      return;
    }
    // Only a connect the kernel has finished (a loopback one, inside connect(2)) is waited
    // for: what is left is the runtime thread's turn. One still under way (the server's
    // backlog was full) may take a second; it is reported when it comes.
    let under_way = match &*lock(&self.shared.connecting_fd) {
      Some(ConnectFd::UnderWay(fd)) => Some(*fd),
      _ => None,
    };
    if under_way.is_some_and(|fd| !connect_finished(fd)) {
      return;
    }
    let start = std::time::Instant::now();
    while !self.shared.connect_settled.load(Ordering::Acquire) && start.elapsed() < OWN_CONNECT_WAIT {
      // (The runtime thread may be waiting for this core.)
      std::thread::yield_now();
    }
    self.shared.queue.wake_now();
  }

  /// Read what the kernel holds now, on the JS thread, where libuv's first poll after a read
  /// start would (see `readStart` in lib/engine.js): filed in the inbox like any read (a
  /// `Readable` event follows). Only a flowing stream; whether anything came.
  ///
  /// What the runtime thread read before is reported now too: its wake-up of JS may still be
  /// on its way, and libuv would report it in that poll.
  #[napi(catch_unwind)]
  pub fn read_now(&self) -> bool {
    let got = self.shared.read_on_js_thread(true);
    self.shared.queue.wake_now();
    got
  }

  /// Read further ahead of JS (`flowing`: JS consumes data as it comes) or only about as far
  /// as Node reads past a paused stream.
  #[napi(catch_unwind)]
  pub fn set_flowing(&self, flowing: bool) {
    let limit = if flowing { READ_AHEAD } else { READ_AHEAD_PAUSED };
    if !flowing {
      // JS has taken everything delivered so far; only a chunk still on its way to JS is
      // waited for (its delivery asks for more).
      let mut inbox = lock(&self.shared.inbox);
      inbox.awaiting_js = inbox.queued;
    }
    self.shared.read_ahead.store(limit, Ordering::Relaxed);
    self.shared.wake_reader();
  }

  /// JS took the data and wants more (a stream that is not flowing reads one chunk at a time).
  #[napi(catch_unwind)]
  pub fn read_more(&self) {
    lock(&self.shared.inbox).awaiting_js = false;
    self.shared.wake_reader();
  }

  /// Direct reads for the `onread` option (set before the connection exists): `ReadReady`
  /// events instead of `Data`, and JS reads with `read_into`.
  #[napi(catch_unwind)]
  pub fn set_direct_read(&self, direct: bool) {
    self.shared.direct.store(direct, Ordering::Relaxed);
  }

  /// Read into the caller's buffer on the JS thread: the byte count (0 at EOF), or a
  /// negative errno (`-EAGAIN` when there is nothing more: call `read_more` to wait for more).
  #[napi(catch_unwind)]
  pub fn read_into(&mut self, mut buf: BufferSlice) -> i32 {
    let Some(conn) = self.conn() else {
      return -libc::ENOTCONN;
    };
    let room: &mut [u8] = &mut buf;
    // (A read never returns more than i32::MAX bytes here: the count is capped.)
    let cap = room.len().min(i32::MAX as usize);
    match conn.stream.try_read(&mut room[..cap]) {
      Ok(n) => n as i32,
      Err(e) => errno_of(&e),
    }
  }

  /// Stop reading from the kernel: the peer feels backpressure once buffers fill.
  #[napi(catch_unwind)]
  pub fn read_stop(&self) {
    self.shared.reading.store(false, Ordering::Release);
  }

  /// Write one buffer; `0` when the kernel took it all, `1` when the rest is queued
  /// (`WriteDone` follows), or a negative errno.
  #[napi(catch_unwind)]
  pub fn write(&mut self, data: BufferSlice) -> i32 {
    let bytes: &[u8] = &data;
    self.write_slices(&[bytes])
  }

  /// Write several buffers with one vectored syscall (corked or queued chunks).
  #[napi(catch_unwind)]
  pub fn writev(&mut self, chunks: Vec<BufferSlice>) -> i32 {
    let slices: Vec<&[u8]> = chunks.iter().map(|c| -> &[u8] { c }).collect();
    self.write_slices(&slices)
  }

  /// Send FIN after queued data: `0` done, `1` pending (`ShutdownDone` follows), or a negative
  /// errno.
  #[napi(catch_unwind)]
  pub fn shutdown(&mut self) -> i32 {
    let conn = match self.conn() {
      Some(c) => c.clone(),
      None => return -libc::ENOTCONN,
    };
    let mut out = lock(&self.shared.outbox);
    if out.flushing {
      out.shutdown = true;
      return PENDING;
    }
    drop(out);
    match conn.stream_shutdown() {
      Ok(()) => DONE,
      Err(e) => errno_of(&e),
    }
  }

  /// Close the descriptor (with an RST when `reset`, or when data read ahead is still in the
  /// inbox: see below).
  ///
  /// JS need not wait for the runtime: when no task holds the connection any more (the peer
  /// ended it, so the read task is done) the descriptor is closed right here; else the aborted
  /// tasks (a read task, or a connect under way, which owns its descriptor) close it on the
  /// runtime thread a moment later.
  #[napi(catch_unwind)]
  pub fn close(&mut self, reset: bool) {
    if self.closed {
      return;
    }
    // Bytes read ahead that JS never took are, for Node, unread bytes in the kernel's receive
    // buffer, and the kernel closes a socket that has those with a reset.
    let unread = !lock(&self.shared.inbox).chunks.is_empty();
    if reset || unread {
      // (Before `closed` is set: `conn()` only looks up the connection of an open handle.)
      if let Some(conn) = self.conn() {
        let _ = SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO));
      }
    }
    self.closed = true;
    self.shared.reading.store(false, Ordering::Release);
    self.shared.closed.store(true, Ordering::Release);
    lock(&self.shared.connecting_fd).take();
    let conn = self.conn.take().or_else(|| lock(&self.shared.conn).take());
    lock(&self.shared.conn).take();
    self.unconnected = None;
    self.shared.abort_tasks();
    lock(&self.shared.read_waker).take();
    // (The last reference, dropped here, closes the descriptor on this thread.)
    if let Some(Err(conn)) = conn.map(Arc::try_unwrap) {
      // A task still holds it (the read task waiting for data): aborted, it lets go of it on
      // the runtime thread a moment later, which closes the descriptor; JS need not wait for
      // that to emit 'close'. (Closing it here instead, by pointing the descriptor at another
      // file, would make tokio's deregistration fail, and tokio then keeps the registration
      // for good.)
      conn.closing.mark();
    }
  }

  /// Bytes queued in the native outbox, waiting for the kernel.
  #[napi(catch_unwind)]
  pub fn write_queue_size(&self) -> u32 {
    let out = lock(&self.shared.outbox);
    out
      .bufs
      .iter()
      .map(|b| b.len())
      .sum::<usize>()
      .min(u32::MAX as usize) as u32
  }

  #[napi(catch_unwind)]
  pub fn set_no_delay(&mut self, enable: bool) -> i32 {
    match self.conn() {
      Some(c) => match c.stream.tcp().map_or(Ok(()), |t| t.set_nodelay(enable)) {
        Ok(()) => 0,
        Err(e) => errno_of(&e),
      },
      None => -libc::EBADF,
    }
  }

  /// `SO_KEEPALIVE`, with the idle time in seconds before the first probe.
  #[napi(catch_unwind)]
  ///
  /// `interval_secs` (TCP_KEEPINTVL) and `count` (TCP_KEEPCNT) come from Node versions whose
  /// `setKeepAlive` takes them; unset or 0, the kernel's defaults stay.
  pub fn set_keep_alive(
    &mut self,
    enable: bool,
    initial_delay_secs: u32,
    interval_secs: Option<u32>,
    count: Option<u32>,
  ) -> i32 {
    let conn = match self.conn() {
      Some(c) => c,
      None => return -libc::EBADF,
    };
    let sock = SockRef::from(&conn.stream);
    let result = if enable {
      let mut ka = TcpKeepalive::new();
      if initial_delay_secs > 0 {
        ka = ka.with_time(Duration::from_secs(initial_delay_secs as u64));
      }
      if let Some(secs) = interval_secs.filter(|&s| s > 0) {
        ka = ka.with_interval(Duration::from_secs(secs as u64));
      }
      if let Some(n) = count.filter(|&n| n > 0) {
        ka = ka.with_retries(n);
      }
      sock.set_tcp_keepalive(&ka)
    } else {
      sock.set_keepalive(false)
    };
    match result {
      Ok(()) => 0,
      Err(e) => errno_of(&e),
    }
  }

  /// The IP type of service (IPv4 `IP_TOS`, IPv6 `IPV6_TCLASS`): 0 or a negative errno.
  #[napi(catch_unwind)]
  pub fn set_type_of_service(&mut self, tos: u32) -> i32 {
    let Some(conn) = self.conn() else {
      return -libc::EBADF;
    };
    let sock = SockRef::from(&conn.stream);
    let result = match conn.stream.local_addr() {
      Some(std::net::SocketAddr::V6(_)) => sock.set_tclass_v6(tos),
      _ => sock.set_tos_v4(tos),
    };
    match result {
      Ok(()) => 0,
      Err(e) => errno_of(&e),
    }
  }

  /// The IP type of service, or a negative errno.
  #[napi(catch_unwind)]
  pub fn get_type_of_service(&mut self) -> i32 {
    let Some(conn) = self.conn() else {
      return -libc::EBADF;
    };
    let sock = SockRef::from(&conn.stream);
    let result = match conn.stream.local_addr() {
      Some(std::net::SocketAddr::V6(_)) => sock.tclass_v6(),
      _ => sock.tos_v4(),
    };
    match result {
      Ok(tos) => tos as i32,
      Err(e) => errno_of(&e),
    }
  }

  /// The descriptor, or -1 when there is none (for code that reads `_handle.fd`).
  #[napi(catch_unwind)]
  pub fn fd(&mut self) -> i32 {
    if let Some(s) = &self.unconnected {
      return s.as_raw_fd();
    }
    self.conn().map_or(-1, |c| c.stream.as_raw_fd())
  }

  #[napi(catch_unwind)]
  pub fn getsockname(&mut self) -> Option<SocketName> {
    if let Some(s) = &self.unconnected {
      return s.local_addr().ok()?.as_socket().map(SocketName::from);
    }
    if let Some(local) = self.shared.with_connecting_fd(|fd| fd.local_addr()) {
      return local.ok()?.as_socket().map(SocketName::from);
    }
    self.conn()?.stream.local_addr().map(SocketName::from)
  }

  #[napi(catch_unwind)]
  pub fn getpeername(&mut self) -> Option<SocketName> {
    self.conn()?.stream.peer_addr().map(SocketName::from)
  }
}

impl SocketHandle {
  fn write_slices(&mut self, bufs: &[&[u8]]) -> i32 {
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    let conn = match self.conn() {
      Some(c) => c.clone(),
      None => return -libc::EBADF,
    };
    if self.outbox_busy() {
      // Keep the order: queue behind what is already waiting.
      return self.after_direct_write(0, total, |skip| remainder(bufs, skip));
    }
    let sock = SockRef::from(&conn.stream);
    let sent = if bufs.len() == 1 {
      sock.send(bufs[0])
    } else {
      let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
      sock.send_vectored(&slices)
    };
    match sent {
      Ok(n) => self.after_direct_write(n, total, |skip| remainder(bufs, skip)),
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
        self.after_direct_write(0, total, |skip| remainder(bufs, skip))
      }
      Err(e) => self.shared.write_errno(errno_of(&e)),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::runtime::IoRuntime;
  use std::io::Write;
  use std::time::Instant;

  /// A queue whose waker does nothing: the test polls it.
  fn quiet_queue() -> Arc<EventQueue> {
    Arc::new(EventQueue::new(Box::new(|| {})))
  }

  /// Poll the queue until `done` says the collected events are enough (or time runs out).
  fn collect(queue: &EventQueue, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let mut all = Vec::new();
    let start = Instant::now();
    while !done(&all) && start.elapsed() < Duration::from_secs(5) {
      let mut batch = Vec::new();
      queue.take(&mut batch);
      all.append(&mut batch);
      std::thread::sleep(Duration::from_millis(2));
    }
    all
  }

  fn connected_pair(
    rt: &IoRuntime,
    queue: &Arc<EventQueue>,
    reading: bool,
  ) -> (Arc<SocketShared>, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    let shared = SocketShared::new(queue.clone(), reading);
    // As when JS consumes as it reads (nothing here acknowledges reads one by one).
    shared.read_ahead.store(READ_AHEAD, Ordering::Relaxed);
    let _enter = rt.handle().enter();
    shared.attach(Stream::Tcp(TcpStream::from_std(ours).unwrap()));
    (shared, peer)
  }

  /// Every idle connection holds its read task: tokio allocates it as one cell aligned to
  /// 128 bytes (header, scheduler, id, future, trailer: about 104 bytes besides the future),
  /// so a future of at most 152 bytes makes a 256-byte cell where a larger one makes 384.
  #[test]
  fn the_read_task_fits_a_256_byte_task_cell() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, _peer) = connected_pair(&rt, &queue, true);
    let conn = shared.conn().unwrap();
    let future = read_loop(shared.clone(), conn);
    let size = std::mem::size_of_val(&future);
    assert!(size <= 152, "the read task's future takes {size} bytes");
  }

  #[test]
  fn reads_coalesce_in_the_inbox_until_eof() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, mut peer) = connected_pair(&rt, &queue, true);
    peer.write_all(b"hello ").unwrap();
    peer.write_all(b"world").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    collect(&queue, |_| lock(&shared.inbox).eof);
    let mut inbox = lock(&shared.inbox);
    assert_eq!(inbox.errno, 0);
    let chunks = inbox.take();
    assert_eq!(chunks.len(), 1, "small reads coalesce into one chunk");
    assert_eq!(&chunks[0][..], b"hello world");
  }

  #[test]
  fn reads_on_the_js_thread_and_the_runtime_keep_the_byte_order() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, peer) = connected_pair(&rt, &queue, true);
    const TOTAL: u32 = 200_000;
    let writer = std::thread::spawn(move || {
      let mut peer = peer;
      for n in (0..TOTAL).collect::<Vec<_>>().chunks(37) {
        let bytes: Vec<u8> = n.iter().flat_map(|v| v.to_le_bytes()).collect();
        peer.write_all(&bytes).unwrap();
      }
      peer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let (mut got, mut assisted) = (Vec::new(), 0);
    loop {
      if shared.assist_read() {
        assisted += 1;
      }
      let mut inbox = lock(&shared.inbox);
      for chunk in inbox.take() {
        got.extend_from_slice(&chunk);
      }
      inbox.awaiting_js = false;
      let done = inbox.eof;
      assert_eq!(inbox.errno, 0);
      drop(inbox);
      shared.inbox_drained();
      if done {
        break;
      }
    }
    writer.join().unwrap();
    assert!(assisted > 0, "no read happened on this thread");
    let expected: Vec<u8> = (0..TOTAL).flat_map(|v| v.to_le_bytes()).collect();
    assert!(
      got == expected,
      "bytes lost or out of order ({} of {})",
      got.len(),
      expected.len()
    );
  }

  #[test]
  fn nothing_is_read_until_reading_starts() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, mut peer) = connected_pair(&rt, &queue, false);
    peer.write_all(b"data").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(lock(&shared.inbox).len, 0);
    shared.reading.store(true, Ordering::Release);
    shared.wake_reader();
    collect(&queue, |_| lock(&shared.inbox).len == 4);
    assert_eq!(&lock(&shared.inbox).take()[0][..], b"data");
  }

  #[test]
  fn read_ahead_is_bounded() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, peer) = connected_pair(&rt, &queue, true);
    // The peer floods; nobody takes the inbox, so reading must stop near READ_AHEAD.
    let writer = std::thread::spawn(move || {
      let mut peer = peer;
      peer.set_write_timeout(Some(Duration::from_millis(300))).unwrap();
      let chunk = vec![7u8; 64 * 1024];
      let mut sent = 0usize;
      while sent < 64 * 1024 * 1024 {
        match peer.write(&chunk) {
          Ok(n) => sent += n,
          Err(_) => break,
        }
      }
      sent
    });
    let sent = writer.join().unwrap();
    let held = lock(&shared.inbox).len;
    assert!(held >= READ_AHEAD / 2, "read ahead only {held}");
    assert!(
      held <= READ_AHEAD + LIBUV_READ,
      "read {held} bytes ahead, more than the bound"
    );
    assert!(sent > held, "the sender was not held back");
  }

  #[test]
  fn aborted_tasks_close_the_descriptor() {
    let rt = IoRuntime::start().unwrap();
    let queue = quiet_queue();
    let (shared, mut peer) = connected_pair(&rt, &queue, true);
    lock(&shared.conn).take();
    shared.abort_tasks();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(
      std::io::Read::read(&mut peer, &mut buf).unwrap(),
      0,
      "the peer sees the close"
    );
  }

  #[test]
  fn inbox_merges_small_reads_and_keeps_large_ones_whole() {
    let mut inbox = Inbox::default();
    inbox.append(&mut BytesMut::from(&b"ab"[..]));
    inbox.append(&mut BytesMut::from(&b"cd"[..]));
    let big = vec![1u8; COALESCE_LIMIT];
    inbox.append(&mut BytesMut::from(&big[..]));
    inbox.append(&mut BytesMut::from(&b"ef"[..]));
    assert_eq!(inbox.len, 6 + COALESCE_LIMIT);
    let chunks = inbox.take();
    let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    assert_eq!(sizes, vec![4, COALESCE_LIMIT, 2]);
    assert_eq!(inbox.len, 0);
  }

  /// A connection closed by JS while a task holds it counts as closing, once however often
  /// it is marked, until it is dropped (no other test closes a handle, so the count is ours).
  #[test]
  fn a_closing_mark_counts_once_until_dropped() {
    assert!(!descriptors_closing());
    let mark = ClosingMark::default();
    assert!(!descriptors_closing(), "counted before it was marked");
    mark.mark();
    mark.mark();
    assert_eq!(CLOSING.load(Ordering::Acquire), 1);
    drop(mark);
    assert!(!descriptors_closing());
  }

  #[test]
  fn remainder_skips_what_was_sent() {
    let a: &[u8] = b"hello";
    let b: &[u8] = b"world";
    let rest = remainder(&[a, b], 7);
    assert_eq!(rest, vec![Bytes::from_static(b"rld")]);
    let rest = remainder(&[a, b], 3);
    assert_eq!(
      rest,
      vec![Bytes::from_static(b"lo"), Bytes::from_static(b"world")]
    );
    assert!(remainder(&[a, b], 10).is_empty());
  }

  #[test]
  fn socket_addr_parses_ipv4_and_ipv6() {
    assert_eq!(socket_addr("127.0.0.1", 80).unwrap().to_string(), "127.0.0.1:80");
    assert_eq!(socket_addr("::1", 8080).unwrap().to_string(), "[::1]:8080");
    assert!(socket_addr("localhost", 80).is_err());
    assert!(socket_addr("127.0.0.1", 70000).is_err());
  }
}
