'use strict';
// TLS and mutual TLS against a real server, with certificates made at test time
// (`kimberlite certs`), using Node's own tls.connect option names.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Client, DataClass, KimberliteError } = require('..');
const { startServer, tmpDir, BIN } = require('./helpers');

function makeCerts() {
  const dir = tmpDir('kmb-node-pki-');
  execFileSync(BIN, ['certs', '--dir', dir], { stdio: 'ignore' });
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return { dir, ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key') };
}

async function roundTrip(c, name) {
  const id = await c.createStream(name, DataClass.NonPHI);
  await c.append(id, [Buffer.from(name)]);
  const r = await c.read(id, { fromOffset: 0n });
  assert.deepEqual(r.events.map((e) => e.data.toString()), [name]);
}

test('TLS and mutual TLS with Node names and types', async (t) => {
  const pki = makeCerts();
  const other = makeCerts();
  const node = (f) => path.join(pki.dir, f);
  const srv = await startServer(t, ['--tls-cert', node('node.crt'), '--tls-key', node('node.key')]);
  const mtls = await startServer(t, ['--tls-cert', node('node.crt'), '--tls-key', node('node.key'), '--tls-client-ca', node('ca.crt')]);
  const tag = `${process.pid}-${Date.now()}`;

  // ca as a Buffer, then as a string with a servername.
  let c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, tls: { ca: pki.ca } });
  await roundTrip(c, `node-tls-buffer-${tag}`);
  await c.disconnect();
  c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, tls: { ca: pki.ca.toString(), servername: 'localhost' } });
  await roundTrip(c, `node-tls-string-${tag}`);
  await c.disconnect();

  // mutual TLS: cert and key as Buffers.
  c = await Client.connect({ addresses: [mtls.addr], tenantId: 1n, tls: { ca: pki.ca, cert: pki.cert, key: pki.key } });
  await roundTrip(c, `node-mtls-${tag}`);
  await c.disconnect();

  // rejectUnauthorized: false accepts the certificate without the CA (tests only).
  c = await Client.connect({ addresses: [srv.addr], tenantId: 1n, tls: { rejectUnauthorized: false } });
  await roundTrip(c, `node-tls-noverify-${tag}`);
  await c.disconnect();

  // A wrong CA fails at once with KMB_ERR_TLS and the verifier's reason, not retryable.
  await assert.rejects(
    Client.connect({ addresses: [srv.addr], tenantId: 1n, tls: { ca: other.ca }, retryMaxAttempts: 8 }),
    (e) => e instanceof KimberliteError && e.code === 'KMB_ERR_TLS' && /unknown authority/.test(e.message),
  );
  await assert.rejects(Client.connect({ addresses: [srv.addr], tenantId: 1n, tls: true }),
    (e) => e.code === 'KMB_ERR_TLS' && /unknown authority/.test(e.message));
  await assert.rejects(Client.connect({ addresses: [mtls.addr], tenantId: 1n, tls: { ca: pki.ca } }),
    (e) => e.code === 'KMB_ERR_TLS' && /certificate required/.test(e.message));
  await assert.rejects(Client.connect({ addresses: [srv.addr], tenantId: 1n }), /accepts TLS connections only/);

  // Option checks name the option.
  await assert.rejects(Client.connect({ addresses: [srv.addr], tls: { serverName: 'x' } }), /should be "tls.servername"/);
  await assert.rejects(Client.connect({ addresses: [srv.addr], tls: { ca: 42 } }), TypeError);
  await assert.rejects(Client.connect({ addresses: [srv.addr], tls: { cert: pki.cert } }), /go together/);
  await assert.rejects(Client.connect({ addresses: [srv.addr], tls: 'on' }), TypeError);
});
