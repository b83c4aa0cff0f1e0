'use strict';
// Every error this module throws or emits is built here, with Node's class, `code` and message
// format, so user code that checks `err.code` (permanent API) or even the message sees the same
// thing as with node:net.

const { format, inspect, getSystemErrorMap } = require('node:util');

const kTypes = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const classRegExp = /^([A-Z][a-z0-9]*)+$/;

/** Node's one-line description of a received value ("type number (5)", "an instance of X"). */
function describeReceived(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  const type = typeof value;
  switch (type) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      if (Number.isNaN(value)) return 'type number (NaN)';
      if (value === Infinity) return 'type number (Infinity)';
      if (value === -Infinity) return 'type number (-Infinity)';
      return `type number (${value})`;
    case 'boolean':
      return value ? 'type boolean (true)' : 'type boolean (false)';
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${value.name}`;
    case 'object':
      if (value.constructor && 'name' in value.constructor) {
        return `an instance of ${value.constructor.name}`;
      }
      return `${inspect(value, { depth: -1 })}`;
    case 'string': {
      let s = value;
      if (s.length > 28) s = `${s.slice(0, 25)}...`;
      if (s.indexOf("'") === -1) return `type string ('${s}')`;
      return `type string (${JSON.stringify(s)})`;
    }
    default: {
      let s = inspect(value, { colors: false });
      if (s.length > 28) s = `${s.slice(0, 25)}...`;
      return `type ${type} (${s})`;
    }
  }
}

/** An error of class `Base` with Node's `code` and a stack that starts "Base [CODE]: msg". */
function nodeError(Base, code, message) {
  const err = new Base(message);
  // Node names the error "TypeError [CODE]" while the stack is captured, then restores it.
  err.name = `${Base.name} [${code}]`;
  err.stack;
  delete err.name;
  err.code = code;
  Error.captureStackTrace(err, nodeError);
  err.stack = err.stack.replace(/^[^\n]*/, `${Base.name} [${code}]: ${message.split('\n')[0]}`);
  Object.defineProperty(err, 'toString', {
    value() {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return err;
}

function listOf(items, lastSep) {
  if (items.length > 2) return `${items.slice(0, -1).join(', ')}, ${lastSep} ${items[items.length - 1]}`;
  return items.join(` ${lastSep} `);
}

function ERR_INVALID_ARG_TYPE(name, expected, actual) {
  if (!Array.isArray(expected)) expected = [expected];
  let msg = 'The ';
  if (name.endsWith(' argument')) msg += `${name} `;
  else msg += `"${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  msg += 'must be ';
  const types = [];
  const instances = [];
  const other = [];
  for (const value of expected) {
    if (kTypes.includes(value)) types.push(value.toLowerCase());
    else if (classRegExp.test(value)) instances.push(value);
    else other.push(value);
  }
  if (instances.length > 0) {
    const pos = types.indexOf('object');
    if (pos !== -1) {
      types.splice(pos, 1);
      instances.push('Object');
    }
  }
  if (types.length > 0) {
    msg += types.length === 1 ? `of type ${types[0]}` : `one of type ${listOf(types, 'or')}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += `an instance of ${listOf(instances, 'or')}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) msg += `one of ${listOf(other, 'or')}`;
    else {
      if (other[0].toLowerCase() !== other[0]) msg += 'an ';
      msg += `${other[0]}`;
    }
  }
  msg += `. Received ${describeReceived(actual)}`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', msg);
}

function ERR_INVALID_ARG_VALUE(name, value, reason = 'is invalid') {
  let inspected = inspect(value);
  if (inspected.length > 128) inspected = `${inspected.slice(0, 128)}...`;
  const type = name.includes('.') ? 'property' : 'argument';
  return nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${type} '${name}' ${reason}. Received ${inspected}`);
}

function addNumericalSeparator(val) {
  let res = '';
  let i = val.length;
  const start = val[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) res = `_${val.slice(i - 3, i)}${res}`;
  return `${val.slice(0, i)}${res}`;
}

function ERR_OUT_OF_RANGE(str, range, input) {
  let received;
  if (Number.isInteger(input) && Math.abs(input) > 2 ** 32) received = addNumericalSeparator(String(input));
  else if (typeof input === 'bigint') {
    received = String(input);
    if (input > 2n ** 32n || input < -(2n ** 32n)) received = addNumericalSeparator(received);
    received += 'n';
  } else received = inspect(input);
  return nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${str}" is out of range. It must be ${range}. Received ${received}`);
}

function ERR_SOCKET_BAD_PORT(name, port, allowZero = true) {
  const op = allowZero ? '>=' : '>';
  return nodeError(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${op} 0 and < 65536. Received ${describeReceived(port)}.`);
}

function ERR_MISSING_ARGS(...names) {
  let msg = 'The ';
  const wrap = (a) => `"${a}"`;
  names = names.map((a) => (Array.isArray(a) ? a.map(wrap).join(' or ') : wrap(a)));
  switch (names.length) {
    case 1:
      msg += `${names[0]} argument`;
      break;
    case 2:
      msg += `${names[0]} and ${names[1]} arguments`;
      break;
    default:
      msg += `${names.slice(0, -1).join(', ')}, and ${names[names.length - 1]} arguments`;
  }
  return nodeError(TypeError, 'ERR_MISSING_ARGS', `${msg} must be specified`);
}

const simple = (Base, code, message) => () => nodeError(Base, code, message);
const ERR_SERVER_ALREADY_LISTEN = simple(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
const ERR_SERVER_NOT_RUNNING = simple(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.');
/** What Node's native writeBuffer() throws for a string (a write with encoding 'buffer'). */
const ERR_WRITE_NOT_A_BUFFER = simple(TypeError, 'ERR_INVALID_ARG_TYPE', 'Second argument must be a buffer');
const ERR_SOCKET_CLOSED = simple(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
const ERR_SOCKET_CLOSED_BEFORE_CONNECTION = simple(Error, 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established');
const ERR_SOCKET_CONNECTION_TIMEOUT = simple(Error, 'ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout');
const ERR_SOCKET_HANDLE_ADOPTED = simple(Error, 'ERR_SOCKET_HANDLE_ADOPTED', 'The bound socket has already been adopted by a server or socket');
// (Node formats these messages with util.format's %s: an object is inspected, not stringified.)
const ERR_INVALID_IP_ADDRESS = (ip) => nodeError(TypeError, 'ERR_INVALID_IP_ADDRESS', format('Invalid IP address: %s', ip));
const ERR_INVALID_ADDRESS_FAMILY = (family, host, port) =>
  Object.assign(nodeError(RangeError, 'ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${family} ${host}:${port}`), { host, port });
const ERR_INVALID_HANDLE_TYPE = simple(TypeError, 'ERR_INVALID_HANDLE_TYPE', 'This handle type cannot be sent');
const ERR_IP_BLOCKED = (ip) => nodeError(Error, 'ERR_IP_BLOCKED', `IP(${ip}) is blocked by net.BlockList`);
const ERR_INVALID_FD_TYPE = (type) => nodeError(TypeError, 'ERR_INVALID_FD_TYPE', format('Unsupported fd type: %s', type));

/** `[code, message]` of a libuv errno (negative), as Node's own error map has them. */
let errorMap;
function uvErrmapGet(errno) {
  errorMap ??= getSystemErrorMap();
  return errorMap.get(errno) || ['UNKNOWN', 'unknown error'];
}

/** `read ECONNRESET`: a failed operation on a socket (Node's ErrnoException). */
function errnoException(errno, syscall, original) {
  const [code] = uvErrmapGet(errno);
  const message = original ? `${syscall} ${code} ${original}` : `${syscall} ${code}`;
  const ex = new Error(message);
  ex.errno = errno;
  ex.code = code;
  ex.syscall = syscall;
  Error.captureStackTrace(ex, errnoException);
  return ex;
}

/** " 127.0.0.1:80", " ::1" or "": where an operation failed, for a message. */
function hostPortDetails(address, port) {
  if (port && port > 0) return ` ${address}:${port}`;
  if (address) return ` ${address}`;
  return '';
}

/** `connect ECONNREFUSED 127.0.0.1:80`: a failed operation on an address (ExceptionWithHostPort). */
function exceptionWithHostPort(errno, syscall, address, port, additional) {
  const [code] = uvErrmapGet(errno);
  let details = hostPortDetails(address, port);
  if (additional) details += ` - Local (${additional})`;
  const ex = new Error(`${syscall} ${code}${details}`);
  ex.errno = errno;
  ex.code = code;
  ex.syscall = syscall;
  ex.address = address;
  if (port) ex.port = port;
  Error.captureStackTrace(ex, exceptionWithHostPort);
  return ex;
}

/** `listen EADDRINUSE: address already in use :::80` (UVExceptionWithHostPort). */
function uvExceptionWithHostPort(errno, syscall, address, port) {
  const [code, uvmsg] = uvErrmapGet(errno);
  const ex = new Error(`${syscall} ${code}: ${uvmsg}${hostPortDetails(address, port)}`);
  ex.code = code;
  ex.errno = errno;
  ex.syscall = syscall;
  ex.address = address;
  if (port) ex.port = port;
  Error.captureStackTrace(ex, uvExceptionWithHostPort);
  return ex;
}

/** An Error with a `code`, like Node's genericNodeError (e.g. the EPIPE of writeAfterFIN). */
function genericNodeError(message, props) {
  return Object.assign(new Error(message), props);
}

/** Node's AggregateError for a connection whose every attempt failed. */
function aggregateError(errors) {
  const err = new AggregateError(errors);
  err.code = errors[0]?.code;
  return err;
}

module.exports = {
  ERR_WRITE_NOT_A_BUFFER,
  describeReceived,
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_OUT_OF_RANGE,
  ERR_SOCKET_BAD_PORT,
  ERR_MISSING_ARGS,
  ERR_SERVER_ALREADY_LISTEN,
  ERR_SERVER_NOT_RUNNING,
  ERR_SOCKET_CLOSED,
  ERR_SOCKET_CLOSED_BEFORE_CONNECTION,
  ERR_SOCKET_CONNECTION_TIMEOUT,
  ERR_SOCKET_HANDLE_ADOPTED,
  ERR_INVALID_IP_ADDRESS,
  ERR_INVALID_ADDRESS_FAMILY,
  ERR_INVALID_FD_TYPE,
  ERR_IP_BLOCKED,
  ERR_INVALID_HANDLE_TYPE,
  errnoException,
  exceptionWithHostPort,
  uvExceptionWithHostPort,
  genericNodeError,
  aggregateError,
};
