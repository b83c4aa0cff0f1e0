//! The close phase: JS run where libuv runs its close callbacks.
//!
//! Node emits a socket's `'close'` from its handle's close callback, and libuv runs those in
//! the last phase of a loop iteration: after the poll phase's I/O callbacks and the check
//! phase's `setImmediate` callbacks of the same iteration, the handle closed last first. JS has
//! no hook there (a `setImmediate` queued from the check phase runs one iteration late, one
//! queued from the poll phase before the close phase), so this module closes a bare libuv
//! handle (an idle handle never started) and calls JS from its close callback.
//!
//! libuv's functions are looked up in the process (Node exports them for addons). Where they
//! are missing, `schedule` says so and JS falls back to `setImmediate`.
//!
//! While a close phase is pending, the JS thread does not spin for the next batch, and when
//! asked (`hold_events`) a batch that comes is held back until the close phase has run: libuv
//! reports nothing of a later poll phase before it, and the runtime thread's events (a connect
//! finished in a few microseconds) must not overtake a `'close'` either.

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

use napi::sys;

type HandleSize = unsafe extern "C" fn(c_int) -> usize;
type IdleInit = unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int;
type Close = unsafe extern "C" fn(*mut c_void, Option<unsafe extern "C" fn(*mut c_void)>);

/// The libuv functions used, found in the process.
struct Uv {
  handle_size: HandleSize,
  idle_init: IdleInit,
  close: Close,
}

/// `UV_IDLE` in libuv's `uv_handle_type` (stable across libuv 1.x).
const UV_IDLE: c_int = 6;

fn uv() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(|| {
    let find = |name: &CStr| {
      // SAFETY: dlsym with a NUL-terminated name; a missing symbol is null.
      let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
      (!p.is_null()).then_some(p)
    };
    // SAFETY: the symbols are libuv's, whose signatures these are.
    unsafe {
      Some(Uv {
        handle_size: std::mem::transmute::<*mut c_void, HandleSize>(find(c"uv_handle_size")?),
        idle_init: std::mem::transmute::<*mut c_void, IdleInit>(find(c"uv_idle_init")?),
        close: std::mem::transmute::<*mut c_void, Close>(find(c"uv_close")?),
      })
    }
  })
  .as_ref()
}

thread_local! {
  /// A close-phase call is scheduled on this thread's loop.
  static SCHEDULED: Cell<bool> = const { Cell::new(false) };
  /// Batches wait for it.
  static HOLD: Cell<bool> = const { Cell::new(false) };
  /// A batch came while held: deliver it after the close phase.
  static HELD_WAKE: Cell<bool> = const { Cell::new(false) };
}

/// What the close phase needs of an environment: its loop and the JS function to call.
pub struct ClosePhase {
  uv_loop: *mut sys::uv_loop_s,
  callback: sys::napi_ref,
  async_context: sys::napi_async_context,
}

impl ClosePhase {
  /// # Safety
  /// JS thread, with the environment's `env` and a function `callback`.
  pub unsafe fn new(env: sys::napi_env, callback: sys::napi_value) -> Option<Self> {
    let mut uv_loop = ptr::null_mut();
    let mut callback_ref = ptr::null_mut();
    let mut name = ptr::null_mut();
    let mut async_context = ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread.
    unsafe {
      let ok = sys::napi_get_uv_event_loop(env, &mut uv_loop) == sys::Status::napi_ok
        && sys::napi_create_reference(env, callback, 1, &mut callback_ref) == sys::Status::napi_ok
        && sys::napi_create_string_utf8(env, c"rsnet:close".as_ptr(), 11, &mut name) == sys::Status::napi_ok
        && sys::napi_async_init(env, ptr::null_mut(), name, &mut async_context) == sys::Status::napi_ok;
      ok.then_some(ClosePhase {
        uv_loop,
        callback: callback_ref,
        async_context,
      })
    }
  }

  /// Have libuv call the JS callback in this iteration's close phase (once, however often
  /// asked before it runs). False when that is not possible here.
  pub fn schedule(&self, hold_events: bool) -> bool {
    if !SCHEDULED.get() {
      let Some(uv) = uv() else { return false };
      // SAFETY: a zeroed idle handle of libuv's size, initialised on this thread's loop and
      // closed at once; libuv calls `closed` with it in the close phase, which frees it.
      unsafe {
        let handle = libc::calloc(1, (uv.handle_size)(UV_IDLE));
        if handle.is_null() {
          return false;
        }
        if (uv.idle_init)(self.uv_loop, handle) != 0 {
          libc::free(handle);
          return false;
        }
        (uv.close)(handle, Some(closed));
      }
      SCHEDULED.set(true);
    }
    if hold_events {
      HOLD.set(true);
    }
    true
  }

  /// Run the JS callback (from libuv's close callback): `callback(true)` first, then
  /// `callback(false)` while it returns true. Each call is its own callback from native code,
  /// as each close callback is in Node: ticks and microtasks run after it, and an exception it
  /// throws becomes an `'uncaughtException'` before the next one runs.
  ///
  /// # Safety
  /// JS thread, outside any JS call, with the environment alive.
  pub unsafe fn run(&self, env: sys::napi_env, tsfn: sys::napi_threadsafe_function) {
    SCHEDULED.set(false);
    let held = HOLD.replace(false);
    let woken = HELD_WAKE.replace(false);
    let mut start = true;
    // SAFETY: napi calls on the JS thread, each inside a handle scope of our own.
    unsafe {
      loop {
        let mut scope = ptr::null_mut();
        sys::napi_open_handle_scope(env, &mut scope);
        let more = self.call(env, start);
        sys::napi_close_handle_scope(env, scope);
        start = false;
        if !more {
          break;
        }
      }
      if held && woken {
        if HOLD.get() {
          // The callback closed more and holds again: still after that close phase.
          HELD_WAKE.set(true);
        } else {
          sys::napi_call_threadsafe_function(
            tsfn,
            ptr::null_mut(),
            sys::ThreadsafeFunctionCallMode::nonblocking,
          );
        }
      }
    }
  }

  /// One call of the JS callback; whether to call it again.
  unsafe fn call(&self, env: sys::napi_env, start: bool) -> bool {
    // SAFETY: napi calls on the JS thread inside the caller's handle scope.
    unsafe {
      let mut callback = ptr::null_mut();
      let mut recv = ptr::null_mut();
      let mut arg = ptr::null_mut();
      let mut result = ptr::null_mut();
      sys::napi_get_reference_value(env, self.callback, &mut callback);
      // (The receiver must be an object.)
      sys::napi_get_global(env, &mut recv);
      sys::napi_get_boolean(env, start, &mut arg);
      let status = sys::napi_make_callback(env, self.async_context, recv, callback, 1, &arg, &mut result);
      if status == sys::Status::napi_pending_exception {
        // Also what Node answers when JS cannot run any more (the environment is stopping):
        // then no exception is pending, and nothing more is called.
        let mut pending = false;
        sys::napi_is_exception_pending(env, &mut pending);
        let mut err = ptr::null_mut();
        if !pending || sys::napi_get_and_clear_last_exception(env, &mut err) != sys::Status::napi_ok {
          return false;
        }
        sys::napi_fatal_exception(env, err);
        return true;
      }
      let mut more = false;
      status == sys::Status::napi_ok
        && sys::napi_get_value_bool(env, result, &mut more) == sys::Status::napi_ok
        && more
    }
  }

  /// # Safety
  /// JS thread, while the environment is torn down.
  pub unsafe fn release(&self, env: sys::napi_env) {
    // SAFETY: the reference and context were made for this env.
    unsafe {
      let mut scope = ptr::null_mut();
      sys::napi_open_handle_scope(env, &mut scope);
      sys::napi_delete_reference(env, self.callback);
      sys::napi_async_destroy(env, self.async_context);
      sys::napi_close_handle_scope(env, scope);
    }
  }
}

/// Whether a close phase is pending (the JS thread then does not spin for more events).
pub fn pending() -> bool {
  SCHEDULED.get()
}

/// Whether a batch must wait for the pending close phase; if so, it is delivered after it.
pub fn hold_batch() -> bool {
  if HOLD.get() {
    HELD_WAKE.set(true);
    return true;
  }
  false
}

unsafe extern "C" fn closed(handle: *mut c_void) {
  // SAFETY: the handle `schedule` allocated; libuv is done with it.
  unsafe { libc::free(handle) };
  SCHEDULED.set(false);
  let _ = std::panic::catch_unwind(crate::engine::run_close_phase);
}
