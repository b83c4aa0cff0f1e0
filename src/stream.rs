//! `Stream`: a connected TCP or Unix domain socket, as the read, write and connect paths see it.
//!
//! Both kinds are registered with the runtime's reactor and read and written the same way
//! (`SockRef` from the descriptor for `send`/`recv`); only TCP has socket addresses, `TCP_NODELAY`
//! and keep-alive, and JS never asks a Unix socket for them.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use socket2::SockAddr;
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

/// A stream socket created non-blocking (`SOCK_NONBLOCK`): one syscall instead of three.
pub const STREAM_NONBLOCKING: socket2::Type = socket2::Type::STREAM.nonblocking();

pub enum Stream {
  Tcp(TcpStream),
  Unix(UnixStream),
}

impl Stream {
  /// The descriptor, taken out of the runtime's reactor (runtime thread).
  pub fn into_fd(self) -> io::Result<std::os::fd::OwnedFd> {
    Ok(match self {
      Stream::Tcp(s) => s.into_std()?.into(),
      Stream::Unix(s) => s.into_std()?.into(),
    })
  }

  /// Read readiness through the registration's one waker slot: unlike `readable()`, whose
  /// future embeds a waiter in the waiting task, this keeps the read task small (see
  /// `read_loop`). Only the read task waits for read readiness.
  pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    match self {
      Stream::Tcp(s) => s.poll_read_ready(cx),
      Stream::Unix(s) => s.poll_read_ready(cx),
    }
  }

  /// Whether the reactor last saw this socket hung up (both directions closed: a reset, or the
  /// peer's FIN after our own shutdown), as epoll's POLLHUP. tokio keeps those bits once set,
  /// and reading them takes no syscall (the socket is writable as a rule, so the poll returns
  /// at once without registering a waiter).
  pub fn hung_up(&self) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let interest = Interest::READABLE | Interest::WRITABLE;
    let ready = match self {
      Stream::Tcp(s) => std::pin::pin!(s.ready(interest)).poll(&mut cx),
      Stream::Unix(s) => std::pin::pin!(s.ready(interest)).poll(&mut cx),
    };
    matches!(ready, Poll::Ready(Ok(r)) if r.is_read_closed() && r.is_write_closed())
  }

  pub async fn writable(&self) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.writable().await,
      Stream::Unix(s) => s.writable().await,
    }
  }

  /// Run `f` if the socket is ready for `interest`; a `WouldBlock` from `f` clears the readiness.
  pub fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    match self {
      Stream::Tcp(s) => s.try_io(interest, f),
      Stream::Unix(s) => s.try_io(interest, f),
    }
  }

  /// One non-blocking read into `buf` (any thread); `WouldBlock` clears the readiness, so the
  /// read task's next `readable()` waits for new data.
  pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
    match self {
      Stream::Tcp(s) => s.try_read(buf),
      Stream::Unix(s) => s.try_read(buf),
    }
  }

  pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    match self {
      Stream::Tcp(s) => s.try_write_vectored(bufs),
      Stream::Unix(s) => s.try_write_vectored(bufs),
    }
  }

  pub fn take_error(&self) -> io::Result<Option<io::Error>> {
    match self {
      Stream::Tcp(s) => s.take_error(),
      Stream::Unix(s) => s.take_error(),
    }
  }

  /// The TCP connection, if this is one.
  pub fn tcp(&self) -> Option<&TcpStream> {
    match self {
      Stream::Tcp(s) => Some(s),
      Stream::Unix(_) => None,
    }
  }

  pub fn local_addr(&self) -> Option<SocketAddr> {
    self.tcp()?.local_addr().ok()
  }

  pub fn peer_addr(&self) -> Option<SocketAddr> {
    self.tcp()?.peer_addr().ok()
  }
}

impl AsFd for Stream {
  fn as_fd(&self) -> BorrowedFd<'_> {
    match self {
      Stream::Tcp(s) => s.as_fd(),
      Stream::Unix(s) => s.as_fd(),
    }
  }
}

impl AsRawFd for Stream {
  fn as_raw_fd(&self) -> RawFd {
    self.as_fd().as_raw_fd()
  }
}

/// Bytes in `sockaddr_un.sun_path` on Linux.
pub const SUN_PATH_LEN: usize = 108;

/// The address of a Unix domain socket: a path, or a Linux abstract name (leading NUL).
///
/// A name may fill `sun_path` completely (no terminating NUL), as libuv allows. A longer one is
/// cut to fit when `truncate` (what Node 20 and 22 do) or refused with `EINVAL` (Node 24).
pub fn unix_addr(path: &str, truncate: bool) -> io::Result<SockAddr> {
  let mut bytes = path.as_bytes();
  if bytes.len() > SUN_PATH_LEN {
    if !truncate {
      return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    bytes = &bytes[..SUN_PATH_LEN];
  }
  // SAFETY: `init` fills a zeroed storage as a `sockaddr_un` and reports its length.
  let (_, addr) = unsafe {
    SockAddr::try_init(|storage, len| {
      let un = &mut *(storage as *mut libc::sockaddr_un);
      un.sun_family = libc::AF_UNIX as libc::sa_family_t;
      std::ptr::copy_nonoverlapping(bytes.as_ptr(), un.sun_path.as_mut_ptr().cast::<u8>(), bytes.len());
      let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
      // A path is NUL-terminated when there is room; an abstract name never is.
      let nul = usize::from(!bytes.is_empty() && bytes[0] != 0 && bytes.len() < SUN_PATH_LEN);
      *len = (offset + bytes.len() + nul) as libc::socklen_t;
      Ok(())
    })?
  };
  Ok(addr)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn unix_addresses_fill_sun_path_and_long_ones_follow_the_mode() {
    let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
    assert_eq!(
      unix_addr("/tmp/x.sock", false).unwrap().len() as usize,
      offset + 12
    );
    let full = "a".repeat(SUN_PATH_LEN);
    assert_eq!(
      unix_addr(&full, false).unwrap().len() as usize,
      offset + SUN_PATH_LEN
    );
    let long = "a".repeat(SUN_PATH_LEN + 5);
    assert_eq!(
      unix_addr(&long, false).unwrap_err().raw_os_error(),
      Some(libc::EINVAL)
    );
    assert_eq!(
      unix_addr(&long, true).unwrap().len() as usize,
      offset + SUN_PATH_LEN
    );
    assert_eq!(unix_addr("\0abstract", false).unwrap().len() as usize, offset + 9);
  }
}
