//! `io::Error` -> libuv-style errno.
//!
//! Node reports system errors with libuv's numbers: the negated `errno` of the OS (`-111` for
//! `ECONNREFUSED` on Linux). Rust only ever hands JS that number; the JS side turns it into the
//! error code, message and `Error` object in one place (`lib/errors.js`), exactly as Node does.

use std::io;

/// libuv's `UV_EOF`: returned by reads at end of stream (not an OS errno).
pub const UV_EOF: i32 = -4095;

/// The negative errno that libuv would report for this error.
///
/// OS errors keep their number. The few errors that tokio or std build without an OS code are
/// mapped by kind to the errno a syscall would have produced, never to a generic failure.
pub fn errno_of(err: &io::Error) -> i32 {
  if let Some(code) = err.raw_os_error() {
    return -code;
  }
  let code = match err.kind() {
    io::ErrorKind::ConnectionRefused => libc::ECONNREFUSED,
    io::ErrorKind::ConnectionReset => libc::ECONNRESET,
    io::ErrorKind::ConnectionAborted => libc::ECONNABORTED,
    io::ErrorKind::NotConnected => libc::ENOTCONN,
    io::ErrorKind::AddrInUse => libc::EADDRINUSE,
    io::ErrorKind::AddrNotAvailable => libc::EADDRNOTAVAIL,
    io::ErrorKind::BrokenPipe => libc::EPIPE,
    io::ErrorKind::WouldBlock => libc::EAGAIN,
    io::ErrorKind::TimedOut => libc::ETIMEDOUT,
    io::ErrorKind::Interrupted => libc::EINTR,
    io::ErrorKind::UnexpectedEof => return UV_EOF,
    io::ErrorKind::OutOfMemory => libc::ENOMEM,
    io::ErrorKind::PermissionDenied => libc::EACCES,
    io::ErrorKind::Unsupported => libc::ENOTSUP,
    // Everything else that has no OS number is a bad argument or a state error.
    _ => libc::EINVAL,
  };
  -code
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn os_errors_keep_their_number() {
    let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
    assert_eq!(errno_of(&e), -111);
    let e = io::Error::from_raw_os_error(libc::EADDRINUSE);
    assert_eq!(errno_of(&e), -98);
  }

  #[test]
  fn kinds_without_os_number_map_to_errno() {
    assert_eq!(
      errno_of(&io::Error::from(io::ErrorKind::ConnectionReset)),
      -libc::ECONNRESET
    );
    assert_eq!(
      errno_of(&io::Error::from(io::ErrorKind::BrokenPipe)),
      -libc::EPIPE
    );
    assert_eq!(errno_of(&io::Error::from(io::ErrorKind::UnexpectedEof)), UV_EOF);
    assert_eq!(errno_of(&io::Error::other("x")), -libc::EINVAL);
  }
}
