'use strict';
/**
 * @kimberlite/client: a pooled, pipelined, failover-aware client for Kimberlite clusters.
 * See index.d.ts for the documented API.
 */
const { Client, DataClass } = require('./lib/client');
const { KimberliteError } = require('./lib/errors');
const { Subscription } = require('./lib/subscription');
const { load } = require('./lib/binding');

/** The version of the native library (libkimberlite) the addon runs on. Loads the addon. */
function libraryVersion() {
  return load().version();
}

module.exports = { Client, DataClass, KimberliteError, libraryVersion, Subscription };
