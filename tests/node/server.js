// The guide's "Basic Handler (Express)", verbatim where it can be, for the Python tests.
// Changes, each needed to run it under test:
//  - WEBHOOK_SECRET is re-read from the file SECRET_FILE on every request, so a test can switch
//    the receiver's one secret while it runs (as its owner would);
//  - handleEvent records the event id instead of calling the guide's db/notify stubs, and
//    GET /received lists what was accepted;
//  - it listens on 127.0.0.1:PORT and prints "listening <port>" once ready.
const fs = require('fs');
const express = require('express');
const crypto = require('crypto');
const app = express();
app.use(express.json());

const received = [];

function loadSecret(req, res, next) {
  process.env.WEBHOOK_SECRET = fs.readFileSync(process.env.SECRET_FILE, 'utf8').trim();
  next();
}

// Middleware to verify webhook signature
function verifySignature(req, res, next) {
  const signature = req.headers['x-promptha-signature'];
  const timestamp = req.headers['x-promptha-timestamp'];
  const payload = JSON.stringify(req.body);
  // Verify timestamp is recent (prevent replay attacks)
  const now = Math.floor(Date.now() / 1000);
  if (Math.abs(now - parseInt(timestamp)) > 300) {
    return res.status(401).send('Timestamp too old');
  }
  // Verify signature
  const expectedSignature = crypto
    .createHmac('sha256', process.env.WEBHOOK_SECRET)
    .update(`${timestamp}.${payload}`)
    .digest('hex');
  if (signature !== expectedSignature) {
    return res.status(401).send('Invalid signature');
  }
  next();
}

// Webhook endpoint
app.post('/webhooks/promptha', loadSecret, verifySignature, async (req, res) => {
  const { event, data, timestamp } = req.body;
  console.log(`Received event: ${event}`, data);
  try {
    await handleEvent(event, data);
    res.status(200).send('OK');
  } catch (error) {
    console.error('Webhook handling failed:', error);
    res.status(500).send('Internal error');
  }
});

async function handleEvent(event, data) {
  received.push({ event, eventId: data.eventId });
}

app.get('/received', (req, res) => {
  res.json(received);
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
