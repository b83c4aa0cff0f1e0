//! rsnet: the native engine of a drop-in replacement for Node's `net` module.
//!
//! Rust is the handle, JS is the API: everything here is small, typed and never overloaded;
//! argument forms, validation, defaults and event order live in `lib/*.js`.
//!
//! Module map:
//! - [`engine`]: per-environment state: the event queue, the one threadsafe function that
//!   delivers batches of events to JS, ref/unref of the process, teardown.
//! - [`events`]: the event queue and the events that cross to JS.
//! - [`runtime`]: the tokio runtime thread, started lazily, stopped with the environment.
//! - [`phase`]: JS called in the loop's close phase (where Node emits `'close'`) and where
//!   libuv runs its pending callbacks (a shutdown's completion).
//! - [`spin`]: when the JS thread waits briefly for the next batch instead of sleeping.
//! - [`socket`]: `SocketHandle`: connect, read task, direct writes, shutdown, options.
//! - [`server`]: `ServerHandle`: bind, listen, accept loop, close.
//! - [`stream`]: a connected TCP or Unix domain socket, read and written the same way.
//! - [`error`]: `io::Error` -> libuv-style negative errno (JS builds the `Error`).

pub mod engine;
pub mod error;
pub mod events;
pub mod phase;
pub mod runtime;
pub mod server;
pub mod socket;
pub mod spin;
pub mod stream;
