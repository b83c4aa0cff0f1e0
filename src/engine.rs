//! The per-environment engine: event queue, threadsafe function, runtime, lifetime.
//!
//! Each Node environment (the main thread, each worker thread) calls `initEngine(dispatch)` once
//! when it loads the module. The engine lives in a thread-local of that environment's JS thread,
//! so handle methods (always called on the JS thread) find it without passing it around.
//!
//! Lifetime: the threadsafe function is created unreferenced (weak), so queued events never keep
//! the process alive by themselves. JS counts its referenced handles and calls `refEngine` /
//! `unrefEngine` on the 0 <-> 1 transitions, which is how `ref()`/`unref()` work.
//! An environment cleanup hook closes the queue and joins the runtime thread.

use std::cell::RefCell;
use std::ffi::c_void;
use std::future::Future;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use tokio::task::AbortHandle;

use crate::events::{Event, EventQueue};
use crate::phase::{Phase, Phases};
use crate::runtime::IoRuntime;
use crate::socket::SocketHandle;
use crate::spin::SpinPolicy;

/// Kinds of entries in the batch array handed to JS (`[kind, id, payload, ...]`).
#[napi]
pub enum EventKind {
  /// payload: Buffer of data read.
  Data = 1,
  /// The peer ended its side (FIN).
  End = 2,
  /// payload: negative errno of a failed read.
  ReadError = 3,
  /// A client socket is connected.
  Connected = 4,
  /// payload: negative errno of a failed connect.
  ConnectFailed = 5,
  /// payload: `[errno, count]`: `count` write requests completed (errno 0) or failed.
  WriteDone = 6,
  /// payload: errno of the shutdown (0 on success).
  ShutdownDone = 7,
  /// id: the server; payload: the new `SocketHandle`.
  Connection = 9,
  /// id: the server; payload: negative errno of a failed accept.
  AcceptFailed = 10,
  /// Direct reads: there is something to read (`SocketHandle::read_into`).
  ReadReady = 11,
  /// payload: `offset << 16 | length` of data read, in the batch's shared buffer (the
  /// dispatcher's third argument); JS turns it into a `Data` with a view of that buffer.
  PooledData = 12,
}

/// Send + Sync wrapper of the raw threadsafe function pointer.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: napi threadsafe functions are made to be called from any thread.
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

pub struct Engine {
  env: sys::napi_env,
  tsfn: Tsfn,
  queue: Arc<EventQueue>,
  /// Started by the first handle that does I/O.
  runtime: RefCell<Option<IoRuntime>>,
  /// Socket files of listening Unix servers, removed when they close or when the environment
  /// goes away (as libuv removes them when Node closes its handles at exit).
  socket_files: RefCell<Vec<std::path::PathBuf>>,
  /// Ports of this environment's listening TCP servers (0 for each Unix one), so that a
  /// connect to one of them is known (see `SocketHandle::settle_at_once`).
  listeners: RefCell<Vec<u16>>,
  /// Calls JS in the loop's close and pending phases (None where libuv's functions are not
  /// at hand).
  phases: Option<Phases>,
}

thread_local! {
  static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
  /// Whether the JS thread waits for the next batch after one (see `spin`).
  static SPIN: RefCell<SpinPolicy> = RefCell::new(SpinPolicy::from_env());
}

/// Run `f` with this environment's engine (JS thread only).
pub fn with_engine<R>(f: impl FnOnce(&Engine) -> R) -> Result<R> {
  let engine = ENGINE.with(|e| e.borrow().clone());
  match engine {
    Some(engine) => Ok(f(&engine)),
    None => Err(Error::new(
      Status::GenericFailure,
      "rsnet engine is not initialised",
    )),
  }
}

impl Engine {
  pub fn queue(&self) -> &Arc<EventQueue> {
    &self.queue
  }

  /// Spawn a task on the runtime, starting it on first use.
  pub fn spawn<F>(&self, fut: F) -> AbortHandle
  where
    F: Future<Output = ()> + Send + 'static,
  {
    self.with_runtime(|rt| rt.handle().spawn(fut).abort_handle())
  }

  /// Run `f` inside the runtime's context (to register std sockets with its reactor).
  pub fn with_runtime<R>(&self, f: impl FnOnce(&IoRuntime) -> R) -> R {
    let mut slot = self.runtime.borrow_mut();
    if slot.is_none() {
      let rt = IoRuntime::start().expect("cannot start the rsnet I/O thread");
      rt.handle()
        .spawn(crate::events::deferred_wake(self.queue.clone()));
      *slot = Some(rt);
    }
    let rt = slot.as_ref().expect("runtime just started");
    let _enter = rt.handle().enter();
    f(rt)
  }

  /// A listening Unix server created the socket file at `path`.
  pub fn own_socket_file(&self, path: &std::path::Path) {
    self.socket_files.borrow_mut().push(path.to_owned());
  }

  /// Remove a socket file created by this environment (its server closed).
  pub fn release_socket_file(&self, path: &std::path::Path) {
    if self.disown_socket_file(path) {
      let _ = std::fs::remove_file(path);
    }
  }

  /// Forget a socket file without removing it (its socket was handed to a client, which
  /// removes it when it closes, as libuv's pipe handle does); whether it was this
  /// environment's.
  pub fn disown_socket_file(&self, path: &std::path::Path) -> bool {
    let mut files = self.socket_files.borrow_mut();
    let Some(i) = files.iter().position(|p| p == path) else {
      return false;
    };
    files.swap_remove(i);
    true
  }

  /// A server of this environment listens on `port` (0: a Unix socket).
  pub fn add_listener(&self, port: u16) {
    self.listeners.borrow_mut().push(port);
  }

  /// The server that listened on `port` closed.
  pub fn remove_listener(&self, port: u16) {
    let mut listeners = self.listeners.borrow_mut();
    if let Some(i) = listeners.iter().position(|&p| p == port) {
      listeners.swap_remove(i);
    }
  }

  /// Whether a server of this environment may be the one listening on `port` (any address).
  pub fn may_listen_on(&self, port: u16) -> bool {
    self.listeners.borrow().contains(&port)
  }

  fn shutdown(&self) {
    self.queue.close();
    if let Some(mut rt) = self.runtime.borrow_mut().take() {
      rt.shutdown();
    }
    for path in self.socket_files.borrow_mut().drain(..) {
      let _ = std::fs::remove_file(path);
    }
  }
}

/// Set up this environment's engine; `dispatch(batch, resume, pool)` receives every batch of
/// events (see `deliver`), and `on_phase(phase, start)` is called in the loop phases
/// `scheduleClosePhase` and `schedulePendingPhase` ask for (see `phase`).
#[napi(catch_unwind)]
pub fn init_engine(
  env: Env,
  dispatch: Function<'_, (Array, bool, Unknown<'_>), ()>,
  on_phase: Function<'_, (u32, bool), bool>,
) -> Result<()> {
  if ENGINE.with(|e| e.borrow().is_some()) {
    return Ok(());
  }
  let raw_env = env.raw();
  // The queue needs the function to wake, the function needs the queue as its context: create
  // the queue with a slot that is filled right after.
  let slot: Arc<std::sync::OnceLock<Tsfn>> = Arc::new(std::sync::OnceLock::new());
  let waker_slot = slot.clone();
  let queue = Arc::new(EventQueue::new(Box::new(move || {
    if let Some(tsfn) = waker_slot.get() {
      // SAFETY: the queue calls the waker under its lock and stops calling it before the
      // function is released (`Engine::shutdown` closes the queue first).
      unsafe {
        sys::napi_call_threadsafe_function(
          tsfn.0,
          ptr::null_mut(),
          sys::ThreadsafeFunctionCallMode::nonblocking,
        );
      }
    }
  })));
  let context = Arc::into_raw(queue.clone()) as *mut c_void;
  let mut name = ptr::null_mut();
  let mut tsfn = ptr::null_mut();
  // SAFETY: plain napi calls on the JS thread with valid arguments.
  unsafe {
    check(sys::napi_create_string_utf8(
      raw_env,
      c"rsnet".as_ptr(),
      5,
      &mut name,
    ))?;
    check(sys::napi_create_threadsafe_function(
      raw_env,
      dispatch.raw(),
      ptr::null_mut(),
      name,
      0,
      1,
      context,
      Some(finalize_queue),
      context,
      Some(call_js),
      &mut tsfn,
    ))?;
    check(sys::napi_unref_threadsafe_function(raw_env, tsfn))?;
  }
  let _ = slot.set(Tsfn(tsfn));
  let engine = Rc::new(Engine {
    env: raw_env,
    tsfn: Tsfn(tsfn),
    queue,
    runtime: RefCell::new(None),
    socket_files: RefCell::new(Vec::new()),
    listeners: RefCell::new(Vec::new()),
    // SAFETY: JS thread, this env, a function.
    phases: unsafe { Phases::new(raw_env, on_phase.raw()) },
  });
  ENGINE.with(|e| *e.borrow_mut() = Some(engine));
  // SAFETY: the hook runs on this thread when the environment is torn down.
  unsafe {
    check(sys::napi_add_env_cleanup_hook(
      raw_env,
      Some(cleanup),
      ptr::null_mut(),
    ))?;
  }
  Ok(())
}

/// Have the phase callback called in this loop iteration's close phase, where libuv runs
/// close callbacks; with `hold_events`, no batch is delivered before it. False when not
/// possible (JS then uses `setImmediate`).
#[napi(catch_unwind)]
pub fn schedule_close_phase(hold_events: bool) -> bool {
  with_engine(|e| e.phases.as_ref().is_some_and(|p| p.schedule_close(hold_events))).unwrap_or(false)
}

/// Have the phase callback called where libuv runs its pending callbacks (see `phase`).
/// False when not possible (JS then uses `setImmediate`).
#[napi(catch_unwind)]
pub fn schedule_pending_phase() -> bool {
  with_engine(|e| e.phases.as_ref().is_some_and(|p| p.schedule_pending())).unwrap_or(false)
}

/// libuv's callback of a phase: call JS (see `phase`).
pub fn run_phase(phase: Phase) {
  let engine = ENGINE.with(|e| e.borrow().clone());
  if let Some(engine) = engine {
    if let Some(phases) = &engine.phases {
      // SAFETY: libuv runs its callbacks on the JS thread, outside JS.
      unsafe { phases.run(engine.env, engine.tsfn.0, phase) };
    }
  }
}

/// Keep the process alive: a referenced handle exists.
#[napi(catch_unwind)]
pub fn ref_engine() -> Result<()> {
  with_engine(|e| unsafe {
    sys::napi_ref_threadsafe_function(e.env, e.tsfn.0);
  })
}

/// Let the process exit: no referenced handle is left.
#[napi(catch_unwind)]
pub fn unref_engine() -> Result<()> {
  with_engine(|e| unsafe {
    sys::napi_unref_threadsafe_function(e.env, e.tsfn.0);
  })
}

fn check(status: sys::napi_status) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::new(Status::from(status), "napi call failed"))
  }
}

unsafe extern "C" fn cleanup(_arg: *mut c_void) {
  let engine = ENGINE.with(|e| e.borrow_mut().take());
  if let Some(engine) = engine {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.shutdown()));
    if let Some(phases) = &engine.phases {
      // SAFETY: on the JS thread, while the environment is torn down.
      unsafe { phases.release(engine.env) };
    }
    // SAFETY: the queue is closed, so no thread calls the function any more.
    unsafe {
      sys::napi_release_threadsafe_function(engine.tsfn.0, sys::ThreadsafeFunctionReleaseMode::abort);
    }
  }
}

unsafe extern "C" fn finalize_queue(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the `Arc` leaked in `init_engine`.
  drop(unsafe { Arc::from_raw(data as *const EventQueue) });
}

/// Drain the queue into one array and hand it to the JS dispatcher (JS thread).
unsafe extern "C" fn call_js(
  env: sys::napi_env,
  js_cb: sys::napi_value,
  ctx: *mut c_void,
  _data: *mut c_void,
) {
  if env.is_null() || js_cb.is_null() {
    return;
  }
  let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    // SAFETY: `ctx` is the queue `Arc` leaked in `init_engine`, alive until the finalizer.
    let queue = unsafe { &*(ctx as *const EventQueue) };
    if crate::phase::hold_batch() {
      return;
    }
    let mut events = Vec::new();
    queue.take(&mut events);
    if events.is_empty() {
      return;
    }
    let count = events.len();
    let mut answered = Vec::new();
    // SAFETY: called by Node on the JS thread with a live env and function.
    unsafe { deliver(env, js_cb, events, &mut answered) };
    SPIN.with(|spin| {
      let mut spin = spin.borrow_mut();
      // (Not while a 'close' is due: libuv would run the close phase first.)
      if !crate::phase::pending() && spin.should_spin(count) {
        // The sockets that just got data are where the next data most likely comes from: JS
        // has probably answered it. Read them here as well (see `SocketShared::assist_read`).
        spin.spin(|| queue.has_pending() || answered.iter().any(|s| s.assist_read()));
      }
    });
  }));
}

/// Builds the batch array with raw napi calls: this is the hottest path of the module.
struct Batch {
  env: sys::napi_env,
  array: sys::napi_value,
  len: u32,
}

impl Batch {
  unsafe fn push(&mut self, kind: EventKind, id: u32, payload: sys::napi_value) {
    unsafe {
      let kind = self.u32(kind as u32);
      let id = self.u32(id);
      sys::napi_set_element(self.env, self.array, self.len, kind);
      sys::napi_set_element(self.env, self.array, self.len + 1, id);
      sys::napi_set_element(self.env, self.array, self.len + 2, payload);
    }
    self.len += 3;
  }

  unsafe fn u32(&self, v: u32) -> sys::napi_value {
    let mut out = ptr::null_mut();
    unsafe { sys::napi_create_uint32(self.env, v, &mut out) };
    out
  }

  unsafe fn i32(&self, v: i32) -> sys::napi_value {
    let mut out = ptr::null_mut();
    unsafe { sys::napi_create_int32(self.env, v, &mut out) };
    out
  }

  unsafe fn undefined(&self) -> sys::napi_value {
    let mut out = ptr::null_mut();
    unsafe { sys::napi_get_undefined(self.env, &mut out) };
    out
  }
}

/// Sockets that got less than this in a batch are read on the JS thread while it waits for
/// the next one (`SocketShared::assist_read`).
const ASSIST_BELOW: usize = 16 * 1024;

/// Reads up to this size are copied into a buffer V8 allocates; larger ones are handed over.
///
/// A chunk handed over keeps the whole allocation it was split off alive (up to
/// `socket::READ_CHUNK`, 1 MiB) for as long as JS keeps the chunk: at this limit a kept chunk
/// holds at most 4 times its size. The copies cost no throughput: V8 collects its own buffers
/// in young-generation collections, where external ones pile up until a full collection
/// (bulk receive, alternating runs: 1.6-2.1 GB/s with this limit, 1.5-1.8 with 16 KiB).
const COPY_LIMIT: usize = 256 * 1024;

/// Reads up to this size are copied into one buffer shared by the batch, and JS gets views of
/// it: one V8 allocation per batch instead of one per read (a busy batch holds a read of each
/// of many sockets). A view JS keeps keeps the whole shared buffer alive, so it is small.
const POOL_CHUNK: usize = 8 * 1024;
/// The size limit of a batch's shared buffer; reads beyond it get buffers of their own.
const POOL_CAP: usize = 32 * 1024;

/// The small reads of a batch, copied into one shared buffer once the batch is built.
#[derive(Default)]
struct Pool {
  chunks: Vec<bytes::BytesMut>,
  len: usize,
}

impl Pool {
  /// Where `chunk` will be in the shared buffer (`offset << 16 | length`), if it goes there.
  fn add(&mut self, chunk: bytes::BytesMut) -> std::result::Result<u32, bytes::BytesMut> {
    let len = chunk.len();
    if len > POOL_CHUNK || self.len + len > POOL_CAP {
      return Err(chunk);
    }
    let at = ((self.len as u32) << 16) | len as u32;
    self.len += len;
    self.chunks.push(chunk);
    Ok(at)
  }

  /// The shared buffer, or `undefined` if no read went there.
  unsafe fn into_buffer(self, env: sys::napi_env) -> sys::napi_value {
    let mut out = ptr::null_mut();
    if self.len == 0 {
      unsafe { sys::napi_get_undefined(env, &mut out) };
      return out;
    }
    let mut data = ptr::null_mut();
    let status = unsafe { sys::napi_create_buffer(env, self.len, &mut data, &mut out) };
    if status != sys::Status::napi_ok || data.is_null() {
      // V8 could not allocate 32 KiB: Node does not survive that either (its allocation
      // failures are fatal), so this is not worth a path of its own.
      return out;
    }
    // SAFETY: `data` points to `self.len` writable bytes V8 just allocated.
    let dest = unsafe { std::slice::from_raw_parts_mut(data as *mut u8, self.len) };
    let mut at = 0;
    for chunk in &self.chunks {
      dest[at..at + chunk.len()].copy_from_slice(chunk);
      at += chunk.len();
    }
    out
  }
}

unsafe fn buffer_from(env: sys::napi_env, mut data: bytes::BytesMut) -> sys::napi_value {
  let mut out = ptr::null_mut();
  if data.len() > COPY_LIMIT {
    // Handed over as it is. The chunk may share its allocation with the reads before and after
    // it (see `socket::READ_CHUNK`); the allocation lives until its last owner is dropped.
    let len = data.len();
    let ptr_data = data.as_mut_ptr();
    let hint = Box::into_raw(Box::new(data)) as *mut c_void;
    let status = unsafe {
      sys::napi_create_external_buffer(
        env,
        len,
        ptr_data as *mut c_void,
        Some(drop_chunk),
        hint,
        &mut out,
      )
    };
    if status == sys::Status::napi_ok {
      return out;
    }
    // Runtimes with a V8 memory cage refuse external buffers: copy instead.
    data = *unsafe { Box::from_raw(hint as *mut bytes::BytesMut) };
  }
  unsafe {
    sys::napi_create_buffer_copy(
      env,
      data.len(),
      data.as_ptr() as *const c_void,
      ptr::null_mut(),
      &mut out,
    )
  };
  out
}

unsafe extern "C" fn drop_chunk(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  // SAFETY: `hint` is the boxed chunk that owns the buffer's bytes.
  drop(unsafe { Box::from_raw(hint as *mut bytes::BytesMut) });
}

/// Deliver `events` as one batch; the sockets that got data are added to `got_data`.
unsafe fn deliver(
  env: sys::napi_env,
  js_cb: sys::napi_value,
  events: Vec<Event>,
  got_data: &mut Vec<Arc<crate::socket::SocketShared>>,
) {
  let mut array = ptr::null_mut();
  unsafe { sys::napi_create_array_with_length(env, events.len() * 3, &mut array) };
  let mut b = Batch { env, array, len: 0 };
  let mut pool = Pool::default();
  let napi_env = Env::from_raw(env);
  unsafe {
    for event in events {
      match event {
        Event::Readable { socket } => {
          if socket.closed.load(std::sync::atomic::Ordering::Acquire) {
            continue;
          }
          let (chunks, eof, errno, ready) = socket.take_inbox();
          if ready {
            let v = b.undefined();
            b.push(EventKind::ReadReady, socket.id, v);
          }
          if !chunks.is_empty() {
            // The reader may be waiting for room in a full inbox.
            socket.inbox_drained();
            // Small messages only: a bulk stream is read faster by the runtime thread, in
            // parallel with JS.
            let len: usize = chunks.iter().map(|c| c.len()).sum();
            if errno == 0 && !eof && len < ASSIST_BELOW {
              got_data.push(socket.clone());
            }
          }
          for chunk in chunks {
            match pool.add(chunk) {
              Ok(at) => {
                let v = b.u32(at);
                b.push(EventKind::PooledData, socket.id, v);
              }
              Err(chunk) => {
                let buf = buffer_from(env, chunk);
                b.push(EventKind::Data, socket.id, buf);
              }
            }
          }
          if errno != 0 {
            let v = b.i32(errno);
            b.push(EventKind::ReadError, socket.id, v);
          } else if eof {
            let v = b.undefined();
            b.push(EventKind::End, socket.id, v);
          }
        }
        Event::Connected { id } => {
          let v = b.undefined();
          b.push(EventKind::Connected, id, v);
        }
        Event::ConnectFailed { id, errno } => {
          let v = b.i32(errno);
          b.push(EventKind::ConnectFailed, id, v);
        }
        Event::WriteDone { id, errno, count } => {
          let mut pair = ptr::null_mut();
          sys::napi_create_array_with_length(env, 2, &mut pair);
          let e = b.i32(errno);
          let c = b.u32(count);
          sys::napi_set_element(env, pair, 0, e);
          sys::napi_set_element(env, pair, 1, c);
          b.push(EventKind::WriteDone, id, pair);
        }
        Event::ShutdownDone { id, errno } => {
          let v = b.i32(errno);
          b.push(EventKind::ShutdownDone, id, v);
        }
        Event::Connection { server, socket } => {
          let handle = SocketHandle::accepted(socket);
          match handle.into_instance(&napi_env) {
            Ok(instance) => b.push(EventKind::Connection, server, instance.value),
            Err(_) => continue,
          }
        }
        Event::AcceptFailed { server, errno } => {
          let v = b.i32(errno);
          b.push(EventKind::AcceptFailed, server, v);
        }
      }
    }
    let mut global = ptr::null_mut();
    sys::napi_get_undefined(env, &mut global);
    let mut args = [array, ptr::null_mut(), pool.into_buffer(env)];
    sys::napi_get_boolean(env, false, &mut args[1]);
    let mut result = ptr::null_mut();
    // A listener or a tick that throws: an 'uncaughtException' now, as from any callback in
    // Node, then the rest of the batch (`dispatch(batch, true, pool)` goes on where it stopped).
    while sys::napi_call_function(env, global, js_cb, 3, args.as_ptr(), &mut result)
      == sys::Status::napi_pending_exception
      && crate::phase::report_exception(env)
    {
      sys::napi_get_boolean(env, true, &mut args[1]);
    }
  }
}
