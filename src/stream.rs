//! `Stream`: a connected TCP or Unix domain socket, as the read, write and connect paths see it.
//!
//! Both kinds are registered with the runtime's reactor and read and written the same way
//! (`SockRef` from the descriptor for `send`/`recv`); only TCP has socket addresses, `TCP_NODELAY`
//! and keep-alive, and JS never asks a Unix socket for them.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

pub enum Stream {
  Tcp(TcpStream),
  Unix(UnixStream),
}

impl Stream {
  pub async fn readable(&self) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.readable().await,
      Stream::Unix(s) => s.readable().await,
    }
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
