//! Loop phases: JS run where libuv runs its close callbacks and its pending callbacks.
//!
//! Node emits a socket's `'close'` from its handle's close callback, and libuv runs those in
//! the last phase of a loop iteration: after the poll phase's I/O callbacks and the check
//! phase's `setImmediate` callbacks of the same iteration, the handle closed last first. JS has
//! no hook there (a `setImmediate` queued from the check phase runs one iteration late, one
//! queued from the poll phase before the close phase), so this module closes a bare libuv
//! handle (an idle handle never started) and calls JS from its close callback.
//!
//! libuv also completes some requests through its pending queue (`uv__io_feed`): a shutdown
//! with nothing left to write, asked for in the poll phase, completes right after that poll
//! phase, before the check phase's immediates; asked for elsewhere, in the next pending phase
//! (after the timers, before the poll). The pending phase here is a check handle started in
//! front of Node's (libuv runs the last started first), for the first case, and an idle handle
//! (the idle phase follows the pending phase), for the others: whichever comes first runs it.
//!
//! libuv's functions are looked up in the process (Node exports them for addons). Where they
//! are missing, `schedule_*` says so and JS falls back to `setImmediate`.
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
type Init = unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int;
type Callback = Option<unsafe extern "C" fn(*mut c_void)>;
type Start = unsafe extern "C" fn(*mut c_void, Callback) -> c_int;
type Stop = unsafe extern "C" fn(*mut c_void) -> c_int;
type Close = unsafe extern "C" fn(*mut c_void, Callback);

/// The libuv functions used, found in the process.
struct Uv {
  handle_size: HandleSize,
  idle_init: Init,
  idle_start: Start,
  idle_stop: Stop,
  check_init: Init,
  check_start: Start,
  check_stop: Stop,
  close: Close,
}

/// `UV_CHECK` and `UV_IDLE` in libuv's `uv_handle_type` (stable across libuv 1.x).
const UV_CHECK: c_int = 2;
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
        idle_init: std::mem::transmute::<*mut c_void, Init>(find(c"uv_idle_init")?),
        idle_start: std::mem::transmute::<*mut c_void, Start>(find(c"uv_idle_start")?),
        idle_stop: std::mem::transmute::<*mut c_void, Stop>(find(c"uv_idle_stop")?),
        check_init: std::mem::transmute::<*mut c_void, Init>(find(c"uv_check_init")?),
        check_start: std::mem::transmute::<*mut c_void, Start>(find(c"uv_check_start")?),
        check_stop: std::mem::transmute::<*mut c_void, Stop>(find(c"uv_check_stop")?),
        close: std::mem::transmute::<*mut c_void, Close>(find(c"uv_close")?),
      })
    }
  })
  .as_ref()
}

/// A zeroed libuv handle of `kind`, initialised on `uv_loop`; null when that failed.
///
/// # Safety
/// JS thread of the loop.
unsafe fn new_handle(uv: &Uv, uv_loop: *mut sys::uv_loop_s, kind: c_int, init: Init) -> *mut c_void {
  // SAFETY: a zeroed block of libuv's size for the kind, freed if init fails.
  unsafe {
    let handle = libc::calloc(1, (uv.handle_size)(kind));
    if !handle.is_null() && init(uv_loop, handle) != 0 {
      libc::free(handle);
      return ptr::null_mut();
    }
    handle
  }
}

/// The phases JS can be called in (the first argument of the JS callback).
#[derive(Clone, Copy)]
pub enum Phase {
  Close = 0,
  Pending = 1,
}

thread_local! {
  /// A close-phase call is scheduled on this thread's loop.
  static SCHEDULED: Cell<bool> = const { Cell::new(false) };
  /// A pending-phase call is scheduled.
  static PENDING_SCHEDULED: Cell<bool> = const { Cell::new(false) };
  /// Batches wait for it.
  static HOLD: Cell<bool> = const { Cell::new(false) };
  /// A batch came while held: deliver it after the close phase.
  static HELD_WAKE: Cell<bool> = const { Cell::new(false) };
}

/// What the phases need of an environment: its loop and the JS function to call.
pub struct Phases {
  uv_loop: *mut sys::uv_loop_s,
  callback: sys::napi_ref,
  async_context: sys::napi_async_context,
  /// The pending phase's check and idle handles, made on first use.
  pending: Cell<Option<(*mut c_void, *mut c_void)>>,
}

impl Phases {
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
        && sys::napi_create_string_utf8(env, c"rsnet:phase".as_ptr(), 11, &mut name) == sys::Status::napi_ok
        && sys::napi_async_init(env, ptr::null_mut(), name, &mut async_context) == sys::Status::napi_ok;
      ok.then_some(Phases {
        uv_loop,
        callback: callback_ref,
        async_context,
        pending: Cell::new(None),
      })
    }
  }

  /// Have libuv call the JS callback in this iteration's close phase (once, however often
  /// asked before it runs). False when that is not possible here.
  pub fn schedule_close(&self, hold_events: bool) -> bool {
    if !SCHEDULED.get() {
      let Some(uv) = uv() else { return false };
      // SAFETY: an idle handle of this thread's loop, closed at once; libuv calls `closed`
      // with it in the close phase, which frees it.
      unsafe {
        let handle = new_handle(uv, self.uv_loop, UV_IDLE, uv.idle_init);
        if handle.is_null() {
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

  /// Have libuv call the JS callback in the pending phase (see the module doc; once, however
  /// often asked before it runs). False when that is not possible here.
  pub fn schedule_pending(&self) -> bool {
    if PENDING_SCHEDULED.get() {
      return true;
    }
    let Some(uv) = uv() else { return false };
    // SAFETY: handles of this thread's loop, made once and kept until `release`.
    unsafe {
      let (check, idle) = match self.pending.get() {
        Some(handles) => handles,
        None => {
          let check = new_handle(uv, self.uv_loop, UV_CHECK, uv.check_init);
          let idle = new_handle(uv, self.uv_loop, UV_IDLE, uv.idle_init);
          if check.is_null() || idle.is_null() {
            for h in [check, idle] {
              if !h.is_null() {
                (uv.close)(h, Some(free_handle));
              }
            }
            return false;
          }
          self.pending.set(Some((check, idle)));
          (check, idle)
        }
      };
      (uv.check_start)(check, Some(pending_fired));
      (uv.idle_start)(idle, Some(pending_fired));
    }
    PENDING_SCHEDULED.set(true);
    true
  }

  /// Stop the pending phase's handles (it is running).
  fn stop_pending(&self) {
    PENDING_SCHEDULED.set(false);
    if let (Some(uv), Some((check, idle))) = (uv(), self.pending.get()) {
      // SAFETY: the handles are alive until `release`.
      unsafe {
        (uv.check_stop)(check);
        (uv.idle_stop)(idle);
      }
    }
  }

  /// Run the JS callback for `phase` (from libuv's callback): `callback(phase, true)` first,
  /// then `callback(phase, false)` while it returns true. Each call is its own callback from
  /// native code, as each close or pending callback is in Node: ticks and microtasks run after
  /// it, and an exception it throws becomes an `'uncaughtException'` before the next one runs.
  ///
  /// # Safety
  /// JS thread, outside any JS call, with the environment alive.
  pub unsafe fn run(&self, env: sys::napi_env, tsfn: sys::napi_threadsafe_function, phase: Phase) {
    let (held, woken) = match phase {
      // (`closed` cleared SCHEDULED.)
      Phase::Close => (HOLD.replace(false), HELD_WAKE.replace(false)),
      Phase::Pending => {
        self.stop_pending();
        (false, false)
      }
    };
    let mut start = true;
    // SAFETY: napi calls on the JS thread, each inside a handle scope of our own.
    unsafe {
      loop {
        let mut scope = ptr::null_mut();
        sys::napi_open_handle_scope(env, &mut scope);
        let more = self.call(env, phase, start);
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
  unsafe fn call(&self, env: sys::napi_env, phase: Phase, start: bool) -> bool {
    // SAFETY: napi calls on the JS thread inside the caller's handle scope.
    unsafe {
      let mut callback = ptr::null_mut();
      let mut recv = ptr::null_mut();
      let mut args = [ptr::null_mut(); 2];
      let mut result = ptr::null_mut();
      sys::napi_get_reference_value(env, self.callback, &mut callback);
      // (The receiver must be an object.)
      sys::napi_get_global(env, &mut recv);
      sys::napi_create_uint32(env, phase as u32, &mut args[0]);
      sys::napi_get_boolean(env, start, &mut args[1]);
      let status = sys::napi_make_callback(
        env,
        self.async_context,
        recv,
        callback,
        2,
        args.as_ptr(),
        &mut result,
      );
      if status == sys::Status::napi_pending_exception {
        return report_exception(env);
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
    // SAFETY: the reference and context were made for this env; the handles are this loop's.
    unsafe {
      let mut scope = ptr::null_mut();
      sys::napi_open_handle_scope(env, &mut scope);
      sys::napi_delete_reference(env, self.callback);
      sys::napi_async_destroy(env, self.async_context);
      sys::napi_close_handle_scope(env, scope);
      if let (Some(uv), Some((check, idle))) = (uv(), self.pending.take()) {
        (uv.close)(check, Some(free_handle));
        (uv.close)(idle, Some(free_handle));
      }
    }
    PENDING_SCHEDULED.set(false);
  }
}

/// After a call into JS answered `napi_pending_exception`: report the exception it threw as an
/// `'uncaughtException'`, as Node reports one thrown from any callback, and return true (JS
/// may be called again). False when there is none: Node answers so too when JS cannot run any
/// more (the environment is stopping), and then nothing more is called.
///
/// # Safety
/// JS thread, right after the failed call.
pub unsafe fn report_exception(env: sys::napi_env) -> bool {
  // SAFETY: napi calls on the JS thread.
  unsafe {
    let mut pending = false;
    sys::napi_is_exception_pending(env, &mut pending);
    let mut err = ptr::null_mut();
    if !pending || sys::napi_get_and_clear_last_exception(env, &mut err) != sys::Status::napi_ok {
      return false;
    }
    sys::napi_fatal_exception(env, err);
    true
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

unsafe extern "C" fn free_handle(handle: *mut c_void) {
  // SAFETY: a handle `new_handle` allocated; libuv is done with it.
  unsafe { libc::free(handle) };
}

unsafe extern "C" fn pending_fired(_handle: *mut c_void) {
  let _ = std::panic::catch_unwind(|| crate::engine::run_phase(Phase::Pending));
}

unsafe extern "C" fn closed(handle: *mut c_void) {
  // SAFETY: the handle `schedule_close` allocated; libuv is done with it.
  unsafe { libc::free(handle) };
  // (Even when the environment is gone: a later one on this thread schedules afresh.)
  SCHEDULED.set(false);
  let _ = std::panic::catch_unwind(|| crate::engine::run_phase(Phase::Close));
}
