'use strict';

/**
 * The one error class of the package. Native code rejects with it (the class is handed to the
 * addon when it loads), so `err instanceof KimberliteError` holds for every library failure.
 * Argument mistakes are TypeError or RangeError instead, and never reach the network.
 */
class KimberliteError extends Error {
  /**
   * @param {string} message the library's explanation (the server's own text included)
   * @param {{code?: string, serverCode?: number, requestId?: bigint, retryable?: boolean}} [info]
   */
  constructor(message, info = {}) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'KimberliteError', enumerable: false, configurable: true, writable: true });
    /** kmb_status_name() of the failure, e.g. "KMB_ERR_STREAM_NOT_FOUND". */
    this.code = typeof info.code === 'string' ? info.code : 'KMB_ERR_UNKNOWN';
    /** The server's wire error code when the server answered with an error, else undefined. */
    this.serverCode = typeof info.serverCode === 'number' ? info.serverCode : undefined;
    /** The id of the last request sent for the failing call (to match server logs), else undefined. */
    this.requestId = typeof info.requestId === 'bigint' ? info.requestId : undefined;
    /** Whether the same call may be made again with a chance of success. */
    this.retryable = info.retryable === true;
    if (Error.captureStackTrace) Error.captureStackTrace(this, KimberliteError);
  }
}

module.exports = { KimberliteError };
