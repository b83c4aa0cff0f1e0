'use strict';
// The overloaded argument forms of connect() and listen(), turned into one [options, cb] shape.

const kNormalized = Symbol('kNormalized');

/** Number(x) when it is a non-negative number, else false (Node's toNumber). */
function toNumber(x) {
  return (x = Number(x)) >= 0 ? x : false;
}

/** A string that is not a number names a pipe (Unix socket path). */
function isPipeName(s) {
  return typeof s === 'string' && toNumber(s) === false;
}

/**
 * Every `connect`/`listen` form into `[options, cb]`:
 * `(options[, cb])`, `(path[, cb])`, `(port[, host][, cb])`, `()`.
 */
function normalizeArgs(args) {
  let arr;
  if (args.length === 0) {
    arr = [{}, null];
    arr[kNormalized] = true;
    return arr;
  }
  const arg0 = args[0];
  let options = {};
  if (typeof arg0 === 'object' && arg0 !== null) {
    options = arg0;
  } else if (isPipeName(arg0)) {
    options.path = arg0;
  } else {
    options.port = arg0;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const cb = args[args.length - 1];
  arr = typeof cb === 'function' ? [options, cb] : [options, null];
  arr[kNormalized] = true;
  return arr;
}

function isNormalized(args) {
  return Array.isArray(args[0]) && args[0][kNormalized] === true;
}

module.exports = { normalizeArgs, isNormalized, isPipeName, toNumber };
