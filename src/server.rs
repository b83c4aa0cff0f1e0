//! `ServerHandle`: a listening TCP socket and its accept loop.
//!
//! `bind` and `listen` run on the JS thread (so errors are known at once, as with libuv),
//! then an accept task on the runtime thread turns each connection into a `SocketShared` with
//! its read task already spawned, and queues a `Connection` event; the JS side wraps it in a
//! `Socket`. A full descriptor table (`EMFILE`) is handled as libuv handles it: the pending
//! connections are accepted with a reserve descriptor and closed (`drop_pending`), unless
//! closed sockets' descriptors are still being closed on the runtime thread: then the accept
//! waits for those, which for Node are free already. Other accept
//! errors are reported and the loop backs off briefly so they do not spin.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use socket2::{Domain, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};
use tokio::task::AbortHandle;

use crate::engine::with_engine;
use crate::error::errno_of;
use crate::events::{Event, EventQueue};
use crate::socket::{descriptors_closing, socket_addr, SocketName, SocketShared};
use crate::stream::{unix_addr, Stream, STREAM_NONBLOCKING};

/// How many times an accept out of descriptors yields to the runtime's other tasks while
/// closed sockets' descriptors are being closed (`descriptors_closing`) before it drops the
/// waiting connections anyway (a bound, should a descriptor be held longer than expected).
const CLOSING_WAITS: u32 = 64;

/// A new descriptor for the same socket as `fd` (close-on-exec), or a negative errno; for
/// `server.listen(otherServer)`, where two servers then serve one listening socket.
#[napi(catch_unwind)]
pub fn duplicate_fd(fd: i32) -> i32 {
  // SAFETY: fcntl on a descriptor number; an invalid one only yields EBADF.
  let new_fd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
  if new_fd < 0 {
    errno_of(&io::Error::last_os_error())
  } else {
    new_fd
  }
}

/// The native half of a `net.Server`.
#[napi]
pub struct ServerHandle {
  id: u32,
  queue: Arc<EventQueue>,
  /// The accept task, which owns the listener.
  task: Option<AbortHandle>,
  /// Where it listens, kept for `address()` after the listener moved into the task.
  local: Option<std::net::SocketAddr>,
  /// The listening descriptor (owned by the accept task), to stop listening synchronously.
  fd: Option<RawFd>,
  /// The socket file this server created, removed on close (as libuv does).
  unlink_on_close: Option<std::path::PathBuf>,
  /// Listening on a Unix domain socket.
  unix: bool,
  /// The port (0: a Unix socket) under which the engine knows this server listens.
  listening_on: Option<u16>,
  /// The socket between `bind` (or `open`) and `listen`.
  bound: Option<Socket>,
  /// An error of `bind` that `listen` reports (EADDRINUSE), as libuv defers it.
  delayed_error: i32,
}

/// A listening socket, registered with the runtime. It is polled for readiness itself (rather
/// than through tokio's listeners) so that a full descriptor table can be handled as libuv
/// does: `accept` fails with EMFILE even when no connection waits, so after `drop_pending` the
/// loop must wait for the next connection rather than try again.
struct Listener {
  fd: AsyncFd<Socket>,
  unix: bool,
}

impl Listener {
  /// Register a listening TCP socket with the runtime (inside its context).
  fn tcp(socket: Socket) -> io::Result<Self> {
    Self::register(socket, false)
  }

  /// Register a listening Unix domain socket with the runtime (inside its context).
  fn unix(socket: Socket) -> io::Result<Self> {
    Self::register(socket, true)
  }

  fn register(socket: Socket, unix: bool) -> io::Result<Self> {
    // SAFETY: the socket owns its descriptor and is owned by the AsyncFd from here on.
    // (`ServerHandle::close` may shut the descriptor down or replace it by `dup2` while the
    // accept task is being aborted; the task then never accepts again.)
    let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }?;
    Ok(Listener { fd, unix })
  }

  fn fd(&self) -> RawFd {
    self.fd.get_ref().as_raw_fd()
  }

  /// The next connection. Out of descriptors, the waiting connections are dropped
  /// (`drop_pending`) and the wait goes on; EMFILE is returned only when that was not possible.
  async fn accept(&self) -> io::Result<Stream> {
    let mut waits = 0;
    loop {
      let mut ready = self.fd.readable().await?;
      // SAFETY: accept4 on the listening descriptor; a descriptor returned is owned below.
      let fd = unsafe {
        libc::accept4(
          self.fd(),
          std::ptr::null_mut(),
          std::ptr::null_mut(),
          libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
      };
      if fd >= 0 {
        // SAFETY: a new descriptor, owned by the stream from here on.
        return Ok(if self.unix {
          Stream::Unix(UnixStream::from_std(unsafe {
            std::os::unix::net::UnixStream::from_raw_fd(fd)
          })?)
        } else {
          Stream::Tcp(TcpStream::from_std(unsafe {
            std::net::TcpStream::from_raw_fd(fd)
          })?)
        });
      }
      let err = io::Error::last_os_error();
      match err.raw_os_error() {
        Some(libc::EAGAIN) => ready.clear_ready(),
        Some(libc::EINTR) => {}
        Some(libc::EMFILE | libc::ENFILE) if descriptors_closing() && waits < CLOSING_WAITS => {
          // Sockets JS has closed still hold descriptors, which the runtime thread is about
          // to close (their aborted tasks run next): for Node those are free already, so
          // wait for them rather than drop the connection.
          waits += 1;
          tokio::task::yield_now().await;
        }
        Some(libc::EMFILE | libc::ENFILE) => {
          let errno = drop_pending(self.fd());
          if errno != -libc::EAGAIN {
            return Err(io::Error::from_raw_os_error(-errno));
          }
          ready.clear_ready();
        }
        _ => return Err(err),
      }
    }
  }
}

/// A TCP socket for `addr`, configured as libuv configures a listener, not yet bound.
fn new_listener(addr: std::net::SocketAddr, ipv6_only: bool, reuse_port: bool) -> io::Result<Socket> {
  let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
  // libuv sets SO_REUSEADDR on every TCP listener on Unix; Node inherits it.
  socket.set_reuse_address(true)?;
  if reuse_port {
    socket.set_reuse_port(true)?;
  }
  if addr.is_ipv6() {
    socket.set_only_v6(ipv6_only)?;
  }
  socket.set_nonblocking(true)?;
  Ok(socket)
}

async fn accept_loop(server: u32, queue: Arc<EventQueue>, listener: Listener, pause_on_connect: bool) {
  loop {
    match listener.accept().await {
      Ok(stream) => {
        let socket = SocketShared::new(queue.clone(), !pause_on_connect);
        socket.attach(stream);
        queue.push(Event::Connection { server, socket });
      }
      // The peer gave up before we took the connection: nothing to report (as libuv).
      Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
      Err(e) => {
        queue.push(Event::AcceptFailed {
          server,
          errno: errno_of(&e),
        });
        // Out of descriptors or memory: give the process time to free some.
        tokio::time::sleep(Duration::from_millis(100)).await;
      }
    }
  }
}

/// The descriptor libuv keeps in reserve for `drop_pending` (`/dev/null`, read-only); one for
/// the process, opened when the first server starts listening.
static RESERVE_FD: std::sync::Mutex<Option<std::os::fd::OwnedFd>> = std::sync::Mutex::new(None);

fn open_reserve_fd() {
  let mut reserve = RESERVE_FD.lock().unwrap_or_else(|p| p.into_inner());
  if reserve.is_none() {
    *reserve = std::fs::File::open("/dev/null").ok().map(Into::into);
  }
}

/// Out of descriptors with connections waiting: do what libuv does (its "EMFILE trick"), so a
/// full descriptor table neither spins nor leaves peers hanging. Free the reserve descriptor,
/// accept every pending connection and close it at once (the peers see an orderly close), then
/// take the reserve again. Returns the errno that ended the accepts: -EAGAIN when the queue was
/// emptied (nothing to report), -EMFILE when there was no reserve to free.
fn drop_pending(listener: RawFd) -> i32 {
  let mut reserve = RESERVE_FD.lock().unwrap_or_else(|p| p.into_inner());
  if reserve.take().is_none() {
    return -libc::EMFILE;
  }
  let errno = loop {
    // SAFETY: accept4 on the listening descriptor; a returned descriptor is closed at once.
    let fd = unsafe {
      libc::accept4(
        listener,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        libc::SOCK_CLOEXEC,
      )
    };
    if fd >= 0 {
      unsafe { libc::close(fd) };
      continue;
    }
    let err = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    if err != libc::EINTR {
      break -err;
    }
  };
  *reserve = std::fs::File::open("/dev/null").ok().map(Into::into);
  errno
}

#[napi]
impl ServerHandle {
  #[napi(constructor, catch_unwind)]
  pub fn new() -> Result<Self> {
    with_engine(|e| {
      let queue = e.queue().clone();
      ServerHandle {
        id: queue.next_id(),
        queue,
        task: None,
        local: None,
        fd: None,
        unlink_on_close: None,
        unix: false,
        listening_on: None,
        bound: None,
        delayed_error: 0,
      }
    })
  }

  /// Routing id of this handle's events.
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.id
  }

  /// Bind to `address:port`; 0 or a negative errno. As libuv's uv_tcp_bind, an address in
  /// use is not reported here but by `listen`, so the bind itself succeeds (Node then holds
  /// the handle, and converts the backlog, before it learns of the error).
  #[napi(catch_unwind)]
  pub fn bind(&mut self, address: String, port: u32, ipv6_only: bool, reuse_port: bool) -> i32 {
    if self.task.is_some() || self.bound.is_some() {
      return -libc::EINVAL;
    }
    let created = socket_addr(&address, port).and_then(|addr| {
      let socket = new_listener(addr, ipv6_only, reuse_port)?;
      Ok((socket, addr))
    });
    let (socket, addr) = match created {
      Ok(created) => created,
      Err(e) => return errno_of(&e),
    };
    if let Err(e) = socket.bind(&addr.into()) {
      if e.raw_os_error() != Some(libc::EADDRINUSE) {
        return errno_of(&e);
      }
      self.delayed_error = -libc::EADDRINUSE;
    }
    self.local = socket.local_addr().ok().and_then(|a| a.as_socket());
    self.bound = Some(socket);
    0
  }

  /// Bind a Unix domain socket at `path` (a Linux abstract name when it starts with NUL; see
  /// `unix_addr` for `truncate_long`); 0 or a negative errno. The file is removed on close.
  #[napi(catch_unwind)]
  pub fn bind_path(&mut self, path: String, truncate_long: bool, unlink_truncated: bool) -> i32 {
    if self.task.is_some() || self.bound.is_some() {
      return -libc::EINVAL;
    }
    let bound = (|| {
      let addr = unix_addr(&path, truncate_long)?;
      let socket = Socket::new(Domain::UNIX, STREAM_NONBLOCKING, None)?;
      socket.bind(&addr)?;
      Ok::<_, io::Error>(socket)
    })();
    let socket = match bound {
      Ok(s) => s,
      // libuv reports a missing directory as EACCES (as on Windows); Node shows that.
      Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return -libc::EACCES,
      Err(e) => return errno_of(&e),
    };
    self.unix = true;
    if !path.starts_with('\0') {
      // The file that close removes: the name as given, or (Node 22) as cut to fit.
      let file = if unlink_truncated && path.len() > crate::stream::SUN_PATH_LEN {
        std::ffi::OsStr::from_bytes(&path.as_bytes()[..crate::stream::SUN_PATH_LEN]).into()
      } else {
        std::path::PathBuf::from(&path)
      };
      let _ = with_engine(|e| e.own_socket_file(&file));
      self.unlink_on_close = Some(file);
    }
    self.bound = Some(socket);
    0
  }

  /// Take over an existing socket descriptor (`listen({ fd })`), which this handle then owns
  /// (and closes, as Node's `open` does); 0 or a negative errno.
  #[napi(catch_unwind)]
  pub fn open(&mut self, fd: i32) -> i32 {
    if self.task.is_some() || self.bound.is_some() {
      return -libc::EINVAL;
    }
    // SAFETY: the caller hands this descriptor over (Node's `open` takes ownership too).
    let socket = unsafe { Socket::from_raw_fd(fd) };
    match socket.set_nonblocking(true).and_then(|()| socket.domain()) {
      Ok(Domain::UNIX) => self.unix = true,
      Ok(_) => self.local = socket.local_addr().ok().and_then(|a| a.as_socket()),
      Err(e) => {
        // Not ours to close when it could not be used.
        let _ = socket.into_raw_fd();
        return errno_of(&e);
      }
    }
    self.bound = Some(socket);
    0
  }

  /// Listen on the socket `bind`, `bind_path` or `open` gave this handle; 0 or a negative
  /// errno (then `close` releases the socket). Accepted connections start reading at once
  /// unless `pause_on_connect`.
  #[napi(catch_unwind)]
  pub fn listen(&mut self, backlog: i32, pause_on_connect: bool) -> i32 {
    if self.delayed_error != 0 {
      return self.delayed_error;
    }
    let Some(socket) = self.bound.take() else {
      return -libc::EINVAL;
    };
    if let Err(e) = socket.listen(backlog) {
      self.bound = Some(socket);
      return errno_of(&e);
    }
    // (`local` was read when the socket was bound or opened.)
    match self.unix {
      true => self.start_accepting(pause_on_connect, || Listener::unix(socket)),
      false => self.start_accepting(pause_on_connect, || Listener::tcp(socket)),
    }
  }
}

impl ServerHandle {
  /// Register a bound, listening socket with the runtime and start its accept task.
  fn start_accepting(
    &mut self,
    pause_on_connect: bool,
    listener: impl FnOnce() -> io::Result<Listener>,
  ) -> i32 {
    let (id, queue) = (self.id, self.queue.clone());
    let started = with_engine(|e| {
      e.with_runtime(|rt| {
        let listener = listener()?;
        let fd = listener.fd();
        let port = match listener.unix {
          true => 0,
          false => listener
            .fd
            .get_ref()
            .local_addr()?
            .as_socket()
            .map_or(0, |a| a.port()),
        };
        open_reserve_fd();
        let task = rt
          .handle()
          .spawn(accept_loop(id, queue, listener, pause_on_connect));
        e.add_listener(port);
        Ok::<_, io::Error>((task.abort_handle(), fd, port))
      })
    });
    match started {
      Ok(Ok((task, fd, port))) => {
        self.task = Some(task);
        self.fd = Some(fd);
        self.listening_on = Some(port);
        0
      }
      Ok(Err(e)) => errno_of(&e),
      Err(_) => -libc::EINVAL,
    }
  }
}

#[napi]
impl ServerHandle {
  /// The listening (or bound) descriptor, or -1.
  #[napi(catch_unwind)]
  pub fn fd(&self) -> i32 {
    let bound = self.bound.as_ref().map(|s| s.as_raw_fd());
    self.fd.or(bound).unwrap_or(-1)
  }

  #[napi(catch_unwind)]
  pub fn getsockname(&self) -> Option<SocketName> {
    self.local.map(SocketName::from)
  }

  /// The error `bind` deferred to `listen` (EADDRINUSE, as libuv's `delayed_error`), or 0:
  /// `net.BoundSocket` reports it at once.
  #[napi(catch_unwind)]
  pub fn bind_error(&self) -> i32 {
    self.delayed_error
  }

  /// Hand the bound socket, not listening, over to a client socket
  /// (`new Socket({ handle: boundSocket })`): its descriptor, which the caller then owns, or
  /// -1 when there is none. A Unix socket's file is the caller's to remove from then on.
  #[napi(catch_unwind)]
  pub fn release_bound(&mut self) -> i32 {
    if self.task.is_some() {
      return -1;
    }
    self.local = None;
    if let Some(path) = self.unlink_on_close.take() {
      let _ = with_engine(|e| e.disown_socket_file(&path));
    }
    self.bound.take().map_or(-1, IntoRawFd::into_raw_fd)
  }

  /// Stop accepting and close the descriptor; false when it was not listening.
  ///
  /// The descriptor itself is closed on the runtime thread when the aborted task is dropped;
  /// `shutdown` first takes it out of the listening state at once, so that, as with Node,
  /// connections attempted after `close()` are refused rather than queued and then reset.
  /// (Node emits the server's `'close'` without waiting for the descriptor, and so does JS.)
  #[napi(catch_unwind)]
  pub fn close(&mut self) -> bool {
    self.local = None;
    self.bound = None;
    self.delayed_error = 0;
    if let Some(fd) = self.fd.take() {
      if self.unix {
        // Close the listening socket now by putting an unbound socket in its place (a shut
        // down Unix listener can make `accept` block on some kernels). The accept task, aborted
        // below, then only closes the stand-in.
        if let Ok(stand_in) = Socket::new(Domain::UNIX, Type::STREAM, None) {
          // SAFETY: `fd` stays open until the task is dropped; dup2 replaces it atomically.
          unsafe { libc::dup2(stand_in.as_raw_fd(), fd) };
        }
      } else {
        // SAFETY: the descriptor stays open until the task, aborted just below, is dropped.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
      }
    }
    if let Some(path) = self.unlink_on_close.take() {
      let _ = with_engine(|e| e.release_socket_file(&path));
    }
    if let Some(port) = self.listening_on.take() {
      let _ = with_engine(|e| e.remove_listener(port));
    }
    match self.task.take() {
      Some(task) => {
        task.abort();
        true
      }
      None => false,
    }
  }
}
