'use strict';
// isIP / isIPv4 / isIPv6 with Node's strict rules: dotted-quad IPv4 without leading zeros,
// RFC 4291 text IPv6 with at most one "::", an optional IPv4 tail and an optional zone id.

const decimalOctet = /^(?:0|[1-9][0-9]{0,2})$/;
const hexGroup = /^[0-9a-fA-F]{1,4}$/;
const zoneId = /^[0-9a-zA-Z\-.:]+$/;

function isIPv4String(s) {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!decimalOctet.test(p) || Number(p) > 255) return false;
  }
  return true;
}

/** Count the 16-bit groups of a "::"-free run ("" is zero groups); -1 when malformed. */
function countGroups(run, mayEndWithIPv4) {
  if (run === '') return 0;
  const groups = run.split(':');
  let n = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (hexGroup.test(g)) n += 1;
    else if (mayEndWithIPv4 && i === groups.length - 1 && isIPv4String(g)) n += 2;
    else return -1;
  }
  return n;
}

function isIPv6String(s) {
  const percent = s.indexOf('%');
  if (percent !== -1) {
    if (!zoneId.test(s.slice(percent + 1))) return false;
    s = s.slice(0, percent);
  }
  const halves = s.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) return countGroups(s, true) === 8;
  const head = countGroups(halves[0], false);
  const tail = countGroups(halves[1], true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

function isIPv4(input) {
  return isIPv4String(`${input}`);
}

function isIPv6(input) {
  return isIPv6String(`${input}`);
}

function isIP(input) {
  const s = `${input}`;
  if (isIPv4String(s)) return 4;
  if (isIPv6String(s)) return 6;
  return 0;
}

module.exports = { isIP, isIPv4, isIPv6 };
