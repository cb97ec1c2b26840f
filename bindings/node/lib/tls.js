'use strict';

// The `tls` option of Client.connect, with the names and types of Node's own tls.connect:
// true, or { ca, cert, key, servername, rejectUnauthorized }, where ca, cert and key are PEM
// as a string or a Buffer (ca may also be an array of them). It becomes the addon's flat
// TLS options (kmb_config_set_tls*).

// The addon option each Node name sets.
const NATIVE = {
  on: 'tls', ca: 'tlsCaPem', cert: 'tlsCertPem', key: 'tlsKeyPem',
  servername: 'tlsServerName', skipVerify: 'tlsInsecureSkipVerify',
};

const TLS_KEYS = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'];
const TLS_MISSPELLED = { serverName: 'servername', caFile: 'ca', certFile: 'cert', keyFile: 'key', rejectunauthorized: 'rejectUnauthorized' };

function pem(name, v, allowArray) {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (allowArray && Array.isArray(v)) return v.map((x, i) => pem(`${name}[${i}]`, x, false)).join('\n');
  throw new TypeError(`option "tls.${name}" must be PEM as a string or a Buffer${allowArray ? ' (or an array of them)' : ''}, got ${v === null ? 'null' : typeof v}`);
}

/**
 * normaliseTLS returns the addon options for the `tls` connect option: {} for undefined, null
 * or false (plain TCP).
 */
function normaliseTLS(v) {
  if (v === undefined || v === null || v === false) return {};
  if (v === true) return { [NATIVE.on]: true };
  if (typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) {
    throw new TypeError(`option "tls" must be true or an object { ca, cert, key, servername, rejectUnauthorized }, got ${typeof v}`);
  }
  for (const k of Object.keys(v)) {
    if (TLS_KEYS.includes(k)) continue;
    if (TLS_MISSPELLED[k]) throw new TypeError(`Misspelled option "tls.${k}" should be "tls.${TLS_MISSPELLED[k]}"`);
    throw new TypeError(`Unknown option "tls.${k}" (known: ${TLS_KEYS.join(', ')})`);
  }
  const out = { [NATIVE.on]: true };
  if (v.ca !== undefined) out[NATIVE.ca] = pem('ca', v.ca, true);
  if (v.cert !== undefined) out[NATIVE.cert] = pem('cert', v.cert, true);
  if (v.key !== undefined) out[NATIVE.key] = pem('key', v.key, false);
  if ((out[NATIVE.cert] === undefined) !== (out[NATIVE.key] === undefined)) {
    throw new TypeError('options "tls.cert" and "tls.key" go together');
  }
  if (v.servername !== undefined) {
    if (typeof v.servername !== 'string' || v.servername === '') throw new TypeError('option "tls.servername" must be a non-empty string');
    out[NATIVE.servername] = v.servername;
  }
  if (v.rejectUnauthorized !== undefined) {
    if (typeof v.rejectUnauthorized !== 'boolean') throw new TypeError('option "tls.rejectUnauthorized" must be a boolean');
    if (!v.rejectUnauthorized) out[NATIVE.skipVerify] = true;
  }
  return out;
}

module.exports = { normaliseTLS };
