//! `ServerHandle`: a listening TCP socket and its accept loop.
//!
//! `listen` binds and listens on the JS thread (so errors are known at once, as with libuv),
//! then an accept task on the runtime thread turns each connection into a `SocketShared` with
//! its read task already spawned, and queues a `Connection` event; the JS side wraps it in a
//! `Socket`. Accept errors are reported and the loop backs off briefly so a full descriptor table
//! (`EMFILE`) does not spin.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use crate::engine::with_engine;
use crate::error::errno_of;
use crate::events::{Event, EventQueue};
use crate::socket::{socket_addr, SocketName, SocketShared};

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
}

/// Create, configure, bind and listen (all synchronous, JS thread).
fn bind_listen(
  addr: std::net::SocketAddr,
  backlog: i32,
  ipv6_only: bool,
  reuse_port: bool,
) -> io::Result<Socket> {
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
  socket.bind(&addr.into())?;
  socket.listen(backlog)?;
  Ok(socket)
}

async fn accept_loop(server: u32, queue: Arc<EventQueue>, listener: TcpListener, pause_on_connect: bool) {
  loop {
    match listener.accept().await {
      Ok((stream, _peer)) => {
        let socket = SocketShared::new(queue.clone(), !pause_on_connect);
        let notice = socket.closed_notice();
        socket.attach(stream, notice);
        queue.push(Event::Connection { server, socket });
      }
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
      }
    })
  }

  /// Routing id of this handle's events.
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.id
  }

  /// Bind to `address:port` and listen; 0 or a negative errno. Accepted connections start
  /// reading at once unless `pause_on_connect`.
  #[napi(catch_unwind)]
  pub fn listen(
    &mut self,
    address: String,
    port: u32,
    backlog: i32,
    ipv6_only: bool,
    reuse_port: bool,
    pause_on_connect: bool,
  ) -> i32 {
    if self.task.is_some() {
      return -libc::EINVAL;
    }
    let socket =
      match socket_addr(&address, port).and_then(|a| bind_listen(a, backlog, ipv6_only, reuse_port)) {
        Ok(s) => s,
        Err(e) => return errno_of(&e),
      };
    let local = socket.local_addr().ok().and_then(|a| a.as_socket());
    let std_listener: std::net::TcpListener = socket.into();
    let fd = std_listener.as_raw_fd();
    let (id, queue) = (self.id, self.queue.clone());
    let started = with_engine(|e| {
      e.with_runtime(|rt| {
        let listener = TcpListener::from_std(std_listener)?;
        Ok::<_, io::Error>(
          rt.handle()
            .spawn(accept_loop(id, queue, listener, pause_on_connect))
            .abort_handle(),
        )
      })
    });
    match started {
      Ok(Ok(task)) => {
        self.task = Some(task);
        self.local = local;
        self.fd = Some(fd);
        0
      }
      Ok(Err(e)) => errno_of(&e),
      Err(_) => -libc::EINVAL,
    }
  }

  /// The listening descriptor, or -1 when not listening.
  #[napi(catch_unwind)]
  pub fn fd(&self) -> i32 {
    self.fd.unwrap_or(-1)
  }

  #[napi(catch_unwind)]
  pub fn getsockname(&self) -> Option<SocketName> {
    self.local.map(SocketName::from)
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
    if let Some(fd) = self.fd.take() {
      // SAFETY: the descriptor stays open until the task, aborted just below, is dropped.
      unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
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
