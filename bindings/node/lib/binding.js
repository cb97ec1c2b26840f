'use strict';

const path = require('node:path');
const { KimberliteError } = require('./errors');

// The addon is loaded lazily, at the first connect, so that requiring the package costs nothing
// and a missing build is reported where it matters. KIMBERLITE_NODE_ADDON names another build.
let addon = null;

function load() {
  if (addon !== null) return addon;
  const file = process.env.KIMBERLITE_NODE_ADDON || path.join(__dirname, '..', 'build', 'kimberlite.node');
  let mod;
  try {
    mod = require(file);
  } catch (err) {
    const e = new Error(`@kimberlite/client: cannot load the native addon ${file}: ${err.message} (build it with ./build.sh)`);
    e.cause = err;
    throw e;
  }
  mod.init(KimberliteError);
  addon = mod;
  return addon;
}

module.exports = { load };
