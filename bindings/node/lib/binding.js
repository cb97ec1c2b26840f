'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { errorFromNative } = require('./errors');

// The addon is loaded lazily, at the first connect, so that requiring the package costs nothing
// and a missing build is reported where it matters. KIMBERLITE_NODE_ADDON names another build.
let addon = null;

// A local build (build.sh, also the install script's fallback) wins over the prebuilt addon the
// npm package carries for its platform (prebuilds/PLATFORM-ARCH, found by node-gyp-build).
function addonPath() {
  const root = path.join(__dirname, '..');
  const local = path.join(root, 'build', 'kimberlite.node');
  if (fs.existsSync(local)) return local;
  try {
    return require('node-gyp-build').path(root);
  } catch {
    return local; // reported below as missing
  }
}

function load() {
  if (addon !== null) return addon;
  const file = process.env.KIMBERLITE_NODE_ADDON || addonPath();
  let mod;
  try {
    mod = require(file);
  } catch (err) {
    const e = new Error(`@kimberlite/client: cannot load the native addon ${file}: ${err.message} (build it with ./build.sh)`);
    e.cause = err;
    throw e;
  }
  mod.init(errorFromNative); // `new` on it yields the subclass of KimberliteError for the status
  addon = mod;
  // Node installs a signal's handler when its first listener is added, without SA_ONSTACK, which
  // the Go runtime needs (src/signals.c). Node's own 'newListener' listener, registered at
  // startup, has installed it by the time this one runs.
  mod.fixSignalStacks();
  process.on('newListener', (event) => {
    if (typeof event === 'string' && Object.hasOwn(os.constants.signals, event)) mod.fixSignalStacks();
  });
  return addon;
}

module.exports = { load };
