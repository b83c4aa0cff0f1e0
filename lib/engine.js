'use strict';
// The JS half of the engine: loads the native binding, receives batches of events and routes
// them to their owners, and decides whether the process is kept alive.
//
// Lifetime works like libuv's: a handle keeps the process alive while it is *active* (listening,
// connecting, reading, or with a write or shutdown in flight) and *referenced* (not `unref()`d).
// `NativeHandle` tracks both for each native handle; the native threadsafe function is
// referenced exactly while at least one handle is active and referenced.

const { executionAsyncId } = require('node:async_hooks');
const fs = require('node:fs');
const tty = require('node:tty');
const binding = require('../binding.js');

const { EventKind } = binding;

// State of this environment's engine. It is shared by every instance of this file that loads
// the same addon (test runners that reset the module registry load lib/ again, while the addon
// and its dispatcher stay), so it hangs off the global object, keyed by the addon's path.
const kState = Symbol.for(`rsnet.engine:${require.resolve('../binding.js')}`);
const state = (globalThis[kState] ??= {
  owners: new Map(), // id -> owner (a Socket or Server) with an `[kOnEvent](kind, payload)`
  initialised: false,
  keepAlive: 0, // active, referenced handles
  live: 0, // native handles holding a descriptor
  resume: 0, // where dispatch goes on after a throw
  phases: [0, 1].map(() => ({ queued: [], running: [], next: 0 })), // see atClosePhase
  fresh: new Set(), // ids of the sockets that started reading in this iteration (startedReading)
  deferred: new Map(), // id -> [kind, payload, ...], their read events waiting (deferRead)
  freshClearing: false, // the immediate that ends the iteration's `fresh` is queued
  dispatching: false, // a batch is being delivered (this is the loop's poll phase)
});
const { owners, fresh, deferred } = state;
const kOnEvent = Symbol.for('rsnet.onEvent');
// Called on a handle's owner when its handle starts reading: by net itself, or by code that
// drives Node's TCP handle directly (http's server pauses and resumes its sockets that way).
const kOnReadStart = Symbol.for('rsnet.onReadStart');

function init() {
  if (state.initialised) return;
  state.initialised = true;
  binding.initEngine(dispatch, runPhase);
  binding.setHangUpIsEof(require('./compat').hangUpIsEof);
}

/**
 * Call `fn` where libuv runs close callbacks, in the last phase of this loop iteration (after
 * its check phase's immediates), as Node emits a handle's 'close'. As libuv's closing handles,
 * the functions of one close phase run the last queued first, each as its own callback (ticks
 * run after each); those queued while it runs wait for the next. Where the addon cannot reach
 * libuv, a setImmediate.
 */
function atClosePhase(fn) {
  init();
  if (state.phases[CLOSE].queued.length === 0) scheduleClosePhase(false);
  state.phases[CLOSE].queued.push(fn);
}

/** Deliver no batch of events before this iteration's close phase (see atClosePhase). */
function holdEventsUntilClosePhase() {
  init();
  scheduleClosePhase(true);
}

/** Have the close phase run (once, however often asked); the fallback when nothing is queued. */
function scheduleClosePhase(holdEvents) {
  if (!binding.scheduleClosePhase(holdEvents) && state.phases[CLOSE].queued.length === 0) {
    setImmediate(phaseFallback, CLOSE);
  }
}

/**
 * Call `fn` where libuv runs the callbacks of its pending queue, as it completes a shutdown
 * with nothing left to write: right after this poll phase when called from it (before the
 * check phase's immediates), else in the next pending phase (after the timers, before the
 * poll). In order, each as its own callback.
 */
function atPendingPhase(fn) {
  init();
  const fns = state.phases[PENDING].queued;
  if (fns.length === 0 && !binding.schedulePendingPhase()) setImmediate(phaseFallback, PENDING);
  fns.push(fn);
}

const CLOSE = 0;
const PENDING = 1;

/** A phase, from native: `start` first, then again while it returns true. */
function runPhase(kind, start) {
  const phase = state.phases[kind];
  if (start) {
    phase.running = kind === CLOSE ? phase.queued.reverse() : phase.queued;
    phase.queued = [];
    phase.next = 0;
  }
  if (phase.next >= phase.running.length) return false;
  const fn = phase.running[phase.next++];
  fn();
  return phase.next < phase.running.length;
}

function phaseFallback(kind) {
  for (let start = true, more = true; more; start = false) {
    try {
      more = runPhase(kind, start);
    } catch (err) {
      process.nextTick(rethrow, err);
    }
  }
}

// Node's own: run the ticks and microtasks queued so far (its timers call it between timers).
const runNextTicks = process._tickCallback;

/**
 * Deliver one batch `[kind, id, payload, ...]`, with `pool` the buffer that its small reads
 * share (or undefined); events of unknown ids are dropped. As in Node, where each I/O
 * callback is its own, the ticks and microtasks an event's listeners queue run before the
 * next event (and the last event's before this returns). A throw, a listener's or a tick's,
 * leaves this function: native reports it as an 'uncaughtException', as Node reports one from
 * any callback, and calls again with `resume`, and the batch goes on from where it stopped.
 */
function dispatch(batch, resume, pool) {
  state.dispatching = true;
  try {
    dispatchFrom(batch, resume ? state.resume : 0, resume, pool);
  } finally {
    state.dispatching = false;
  }
}

function dispatchFrom(batch, from, resume, pool) {
  for (let i = from; i < batch.length; i += 3) {
    // (Not right after a throw: Node's callback that threw runs no ticks either.)
    if (i > 0 && !(resume && i === from)) {
      state.resume = i;
      runNextTicks();
    }
    state.resume = i + 3;
    let kind = batch[i];
    let payload = batch[i + 2];
    if (kind === EventKind.PooledData) {
      // A small read, in the batch's shared buffer at `payload` (offset << 16 | length).
      kind = EventKind.Data;
      payload = Buffer.from(pool.buffer, pool.byteOffset + (payload >>> 16), payload & 0xffff);
    }
    const id = batch[i + 1];
    if (fresh.size !== 0 && fresh.has(id) && isRead(kind)) {
      deferRead(id, kind, payload);
      continue;
    }
    const owner = owners.get(id);
    if (owner === undefined) {
      // A connection accepted just before its server closed: nobody will take it.
      if (kind === EventKind.Connection) payload.close(false);
      continue;
    }
    owner[kOnEvent](kind, payload);
  }
  // The last event's ticks too, here rather than when the batch's callback returns: what they
  // do is still part of this poll phase (see readStart).
  runNextTicks();
}

// Node starts reading a new connection where it reports it (a client's 'connect', a server's
// 'connection'), and libuv first polls a descriptor it starts reading in the next loop
// iteration: the first data comes after the immediates those listeners queued. The runtime
// may have read it already. So what comes for such a socket in the iteration it connected in
// waits, and is delivered in that iteration's check phase, after the immediates queued so far.

function isRead(kind) {
  return kind === EventKind.Data || kind === EventKind.End || kind === EventKind.ReadError ||
    kind === EventKind.ReadReady;
}

/** The socket of `handle` started reading, as Node's does after 'connect' or 'connection'. */
function startedReading(handle) {
  fresh.add(handle.id);
  if (!state.freshClearing) {
    state.freshClearing = true;
    // (Unref'd: a pending immediate would keep libuv from blocking in this iteration's poll.)
    setImmediate(endIteration).unref();
  }
}

function endIteration() {
  state.freshClearing = false;
  // (Deferred sockets stay in `fresh` until delivered: nothing may overtake what waits.)
  for (const id of fresh) if (!deferred.has(id)) fresh.delete(id);
}

function deferRead(id, kind, payload) {
  let events = deferred.get(id);
  if (events === undefined) {
    events = [];
    deferred.set(id, events);
    // (An immediate, not the close phase: a close due keeps the JS thread from waiting for
    // the next batch, which this need not.)
    setImmediate(deliverDeferred, id);
  }
  events.push(kind, payload);
}

function deliverDeferred(id) {
  const events = deferred.get(id);
  let next = 0;
  try {
    // (What arrives meanwhile joins `events`.)
    while (next < events.length) {
      const k = next;
      if (k > 0) runNextTicks();
      next = k + 2;
      // (Its owner may have closed it meanwhile: then nobody takes them.)
      owners.get(id)?.[kOnEvent](events[k], events[k + 1]);
    }
  } finally {
    if (next < events.length) {
      // A listener threw (an 'uncaughtException' now): the rest on the next immediate.
      deferred.set(id, events.slice(next));
      setImmediate(deliverDeferred, id);
    } else {
      deferred.delete(id);
      fresh.delete(id);
    }
  }
}

/** Whether a list of read events ([kind, payload, ...]) holds data. */
function hasData(events) {
  for (let i = 0; i < events.length; i += 2) if (events[i] === EventKind.Data) return true;
  return false;
}

/** Whether data read for `handle` waits for the next iteration (see startedReading). */
function deferredData(handle) {
  const events = deferred.get(handle.id);
  return events !== undefined && hasData(events);
}

function rethrow(err) {
  throw err;
}

function addKeepAlive(n) {
  const before = state.keepAlive;
  state.keepAlive += n;
  if (before === 0 && state.keepAlive > 0) binding.refEngine();
  else if (before > 0 && state.keepAlive === 0) binding.unrefEngine();
}

/**
 * Wraps a native handle with the bookkeeping every handle needs: event routing, liveness and
 * the reasons it is active.
 */
class NativeHandle {
  constructor(native, owner) {
    this.native = native;
    this.id = native.id;
    // The ACTIVE_* reasons and the flags below, in one field: every connection has a handle,
    // and each field of it costs every idle connection 8 bytes.
    this.bits = REFED | FLOWING;
    this.asyncId = executionAsyncId(); // for code that asks the handle for one (http)
    owners.set(this.id, owner);
  }

  /** Referenced (not `unref()`d). */
  get refed() {
    return (this.bits & REFED) !== 0;
  }

  /** Released: no more events, no more keep-alive. */
  get closed() {
    return (this.bits & CLOSED) !== 0;
  }

  /** Holds a descriptor (counted in `live`). */
  get open() {
    return (this.bits & OPEN) !== 0;
  }

  /** The native side reads ahead (socket only; off while paused). */
  get flowing() {
    return (this.bits & FLOWING) !== 0;
  }

  set flowing(on) {
    this.setBit(FLOWING, on);
  }

  /** The ACTIVE_* reasons the handle is active for. */
  get reasons() {
    return this.bits & ACTIVE_ANY;
  }

  setBit(bit, on) {
    this.bits = on ? this.bits | bit : this.bits & ~bit;
  }

  /** Route the handle's events to another owner (a connect attempt hands its handle over). */
  setOwner(owner) {
    if (!this.closed) owners.set(this.id, owner);
  }

  /** The handle now holds a descriptor (connecting, accepted or listening). */
  markOpen() {
    if ((this.bits & (OPEN | CLOSED)) !== 0) return;
    this.bits |= OPEN;
    state.live++;
  }

  isActive(reason) {
    return (this.bits & reason) !== 0;
  }

  setActive(reason, on) {
    const bits = on ? this.bits | reason : this.bits & ~reason;
    if (bits === this.bits) return;
    this.bits = bits;
    this.update();
  }

  ref() {
    this.bits |= REFED;
    this.update();
  }

  unref() {
    this.bits &= ~REFED;
    this.update();
  }

  // The members below mirror what code outside net (http, tls) uses of Node's TCP handle.

  /** Whether the handle reads (Node's `handle.reading`; http sets it too). */
  get reading() {
    return (this.bits & ACTIVE_READING) !== 0;
  }

  set reading(value) {
    this.setActive(ACTIVE_READING, Boolean(value));
  }

  readStart() {
    const starts = (this.bits & ACTIVE_READING) === 0;
    this.setActive(ACTIVE_READING, true);
    this.native.readStart();
    owners.get(this.id)?.[kOnReadStart]?.();
    // libuv reads a handle that starts reading in its next poll phase. A start in this poll
    // phase (an event's listener) waits as a new connection's does (see startedReading).
    // Elsewhere (a timer, an immediate, a 'close'), the next poll may come before the
    // runtime thread has read: the JS thread reads the socket itself just before it.
    if (!starts) return 0;
    if (state.dispatching) startedReading(this);
    else atPendingPhase(() => fresh.has(this.id) || this.native.readNow());
    return 0;
  }

  readStop() {
    this.setActive(ACTIVE_READING, false);
    this.native.readStop();
    return 0;
  }

  getAsyncId() {
    return this.asyncId;
  }

  /** The file descriptor, or -1 when there is none. */
  get fd() {
    return this.closed ? -1 : this.native.fd();
  }

  update() {
    // As in libuv: listening and reading keep the loop alive only while the handle is
    // referenced; requests in flight (connect, write, shutdown) and a closing handle always do.
    const bits = this.bits;
    const count =
      (bits & CLOSED) === 0 && (((bits & REFED) !== 0 && (bits & HANDLE_ACTIVITY) !== 0) || (bits & REQUESTS) !== 0);
    if (count !== ((bits & COUNTED) !== 0)) {
      this.setBit(COUNTED, count);
      addKeepAlive(count ? 1 : -1);
    }
  }

  /** Forget the handle: no more events, no more keep-alive. */
  release() {
    if (this.closed) return;
    this.bits |= CLOSED;
    this.update();
    owners.delete(this.id);
    if (this.open) state.live--;
  }
}

const ACTIVE_LISTENING = 1;
const ACTIVE_CONNECTING = 2;
const ACTIVE_READING = 4;
const ACTIVE_WRITING = 8;
const ACTIVE_SHUTDOWN = 16;
const ACTIVE_CLOSING = 32;
const HANDLE_ACTIVITY = ACTIVE_LISTENING | ACTIVE_READING;
const REQUESTS = ACTIVE_CONNECTING | ACTIVE_WRITING | ACTIVE_SHUTDOWN | ACTIVE_CLOSING;
const ACTIVE_ANY = HANDLE_ACTIVITY | REQUESTS;
// Flags of a NativeHandle, above the ACTIVE_* bits.
const REFED = 64;
const CLOSED = 128;
const COUNTED = 256; // contributes to keepAlive
const OPEN = 512;
const FLOWING = 1024;

function createSocketHandle(owner) {
  init();
  return new NativeHandle(new binding.SocketHandle(), owner);
}

function adoptSocketHandle(native, owner) {
  const handle = new NativeHandle(native, owner);
  handle.markOpen();
  return handle;
}

function createServerHandle(owner) {
  init();
  return new NativeHandle(new binding.ServerHandle(), owner);
}

/**
 * What a descriptor is, with the names libuv's uv_guess_handle gives (Node's
 * guessHandleType): 'TCP', 'PIPE' (Unix socket or FIFO), 'UDP', 'FILE', 'TTY' or 'UNKNOWN'.
 */
function guessHandleType(fd) {
  let stat;
  try {
    stat = fs.fstatSync(fd);
  } catch {
    return 'UNKNOWN';
  }
  if (stat.isFile()) return 'FILE';
  if (stat.isCharacterDevice()) return tty.isatty(fd) ? 'TTY' : 'FILE';
  if (stat.isFIFO()) return 'PIPE';
  if (stat.isSocket()) return binding.socketKind(fd);
  return 'UNKNOWN';
}

/** Native handles holding a descriptor not yet closed (for tests that check for leaks). */
function liveHandles() {
  return state.live;
}

module.exports = {
  EventKind,
  kOnEvent,
  kOnReadStart,
  NativeHandle,
  createSocketHandle,
  adoptSocketHandle,
  createServerHandle,
  guessHandleType,
  atClosePhase,
  holdEventsUntilClosePhase,
  atPendingPhase,
  startedReading,
  deferredData,
  hasData,
  duplicateFd: (fd) => binding.duplicateFd(fd),
  liveHandles,
  ACTIVE_LISTENING,
  ACTIVE_CONNECTING,
  ACTIVE_READING,
  ACTIVE_WRITING,
  ACTIVE_SHUTDOWN,
  ACTIVE_CLOSING,
};
