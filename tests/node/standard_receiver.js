// A Standard Webhooks receiver for Ed25519 ("v1a") signatures, written against Node's own
// crypto (crypto.verify), independently of the Python code, for the Python tests
// (tests/node_receiver.py, fixture node_standard_receiver).
//  - KEYS_FILE holds the receiver's whpk_ public keys, one a line, re-read on every request
//    (a test switches them while the server runs, as the receiver's owner would);
//  - a request is accepted when any v1a entry of webhook-signature verifies, under any key,
//    over "<webhook-id>.<webhook-timestamp>.<raw body>", and the timestamp is within 5 minutes;
//  - GET /received lists the accepted deliveries: [{eventId, webhookId, entries}];
//  - it listens on 127.0.0.1:PORT and prints "listening <port>" once ready.
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');

const TOLERANCE_S = 300;
const received = [];

function publicKeys() {
  return fs
    .readFileSync(process.env.KEYS_FILE, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('whpk_'))
    .map((line) => {
      const raw = Buffer.from(line.slice('whpk_'.length), 'base64');
      // A raw 32-byte Ed25519 public key as a JWK (RFC 8037).
      return crypto.createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      });
    });
}

function verified(headers, body) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (!id || !timestamp || !signature) return false;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > TOLERANCE_S) return false;
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  const keys = publicKeys();
  return signature.split(' ').some((entry) => {
    const [version, encoded] = entry.split(',');
    if (version !== 'v1a' || !encoded) return false;
    const bytes = Buffer.from(encoded, 'base64');
    return keys.some((key) => crypto.verify(null, content, key, bytes));
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/received') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(received));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!verified(req.headers, body)) {
      res.writeHead(401);
      res.end('Invalid signature');
      return;
    }
    const event = JSON.parse(body.toString('utf8'));
    received.push({
      eventId: event.data.eventId,
      webhookId: req.headers['webhook-id'],
      entries: req.headers['webhook-signature'].split(' ').length,
    });
    res.writeHead(200);
    res.end('OK');
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
