// ESM entry point of rsnet: the CommonJS module (index.js) re-exported, so that
//   import net, { createServer, connect } from 'rsnet';
// sees exactly the same functions and classes as require('rsnet'), and both share one engine.
import net from './index.js';

export const {
  createServer,
  createConnection,
  connect,
  Server,
  Socket,
  Stream,
  isIP,
  isIPv4,
  isIPv6,
  BlockList,
  SocketAddress,
  getDefaultAutoSelectFamily,
  setDefaultAutoSelectFamily,
  getDefaultAutoSelectFamilyAttemptTimeout,
  setDefaultAutoSelectFamilyAttemptTimeout,
  // (undefined where node:net has no BoundSocket)
  BoundSocket,
} = net;

export default net;
