// gateway-sim speaks Stripe as Stripe's own Node library (`stripe`, a dev dependency of web/)
// expects it: PaymentIntents created and confirmed with a test PaymentMethod (pm_card_visa) or a
// card token (payment_method_data[card][token]), created then confirmed, captured, refunded,
// canceled with a reason, declined, searched by metadata and replayed by Idempotency-Key; every
// answer has a Request-Id; a key still in flight is 409 idempotency_key_in_use; an unknown route
// and a wrong key are answered in Stripe's error shape, so the library raises its own errors.
// The Stripe adapter is tested against the same simulator by the e2e tests, so the two cannot
// drift from Stripe apart.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import { check, repo_root } from '../browser/harness.mjs';

const require = createRequire(join(repo_root, 'web/package.json'));
const Stripe = require('stripe');

const kApiKey = 'sk_test_stripe_node';
const kStart_ms = 20_000;

/** Starts `boxoffice gateway-sim` on a free port; resolves with its URL and a stop(). */
async function startGatewaySim(extra_args = []) {
  const binary = resolve(repo_root, process.env.BOXOFFICE_BINARY ?? 'build/boxoffice');
  const child = spawn(
    binary,
    ['gateway-sim', '--listen', '127.0.0.1:0', '--api-key', kApiKey, ...extra_args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr = [];
  child.stderr.setEncoding('utf8').on('data', (chunk) => stderr.push(chunk));
  const url = await new Promise((resolve_start, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway-sim did not start:\n${stderr}`)), kStart_ms);
    child.on('exit', (code) => reject(new Error(`gateway-sim exited with ${code}:\n${stderr}`)));
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      const listening = buffer.match(/boxoffice gateway-sim: listening on (\S+)\n/);
      if (listening) {
        clearTimeout(timer);
        resolve_start(listening[1]);
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A Stripe client of the simulator at `url`: no retries, so every answer is the first. */
function stripeAt(url, key = kApiKey) {
  const { hostname, port } = new URL(url);
  return new Stripe(key, {
    host: hostname,
    port: Number(port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

/** The error `call` raises; fails when it raises none. */
async function raised(call, what) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error(`${what}: no error was raised`);
}

const manual = { amount: 2500, currency: 'usd', capture_method: 'manual' };

async function exercise(stripe, url) {
  // A test PaymentMethod, confirmed at once.
  const visa = await stripe.paymentIntents.create({
    ...manual,
    payment_method: 'pm_card_visa',
    confirm: true,
    metadata: { idempotency_key: 'ord_node_1' },
  });
  check(visa.status === 'requires_capture', `pm_card_visa: ${visa.status}`);
  check(visa.client_secret?.startsWith(`${visa.id}_secret_`), `client_secret: ${visa.client_secret}`);
  check(visa.latest_charge?.startsWith('ch_'), `latest_charge: ${visa.latest_charge}`);
  check(visa.payment_method?.startsWith('pm_'), `payment_method: ${visa.payment_method}`);
  check(visa.lastResponse.requestId?.startsWith('req_'), `Request-Id: ${visa.lastResponse.requestId}`);

  // A card token, the form the Stripe adapter sends for tok_...
  const token = await stripe.paymentIntents.create({
    ...manual,
    payment_method_data: { type: 'card', card: { token: 'tok_visa' } },
    confirm: true,
  });
  check(token.status === 'requires_capture', `payment_method_data[card][token]: ${token.status}`);
  const bare = await raised(
    () => stripe.paymentIntents.create({ ...manual, payment_method: 'tok_visa', confirm: true }),
    'a token as payment_method',
  );
  check(bare.type === 'StripeInvalidRequestError' && bare.code === 'resource_missing',
    `a token as payment_method: ${bare.type} ${bare.code}`);

  // Created, then confirmed; captured, then refunded.
  const later = await stripe.paymentIntents.create({ ...manual, payment_method: 'pm_card_visa' });
  check(later.status === 'requires_confirmation', `created unconfirmed: ${later.status}`);
  check(later.latest_charge === null, 'no charge before confirmation');
  const confirmed = await stripe.paymentIntents.confirm(later.id);
  check(confirmed.status === 'requires_capture', `confirmed: ${confirmed.status}`);
  const captured = await stripe.paymentIntents.capture(later.id, { amount_to_capture: 2500 });
  check(captured.status === 'succeeded' && captured.amount_received === 2500,
    `captured: ${captured.status} ${captured.amount_received}`);
  const refund = await stripe.refunds.create({ payment_intent: later.id });
  check(refund.status === 'succeeded' && refund.amount === 2500, `refund: ${refund.status}`);
  const again = await raised(() => stripe.refunds.create({ payment_intent: later.id }), 'refund twice');
  check(again.code === 'charge_already_refunded', `refunded twice: ${again.code}`);

  // Declined: the library's card error, with the intent.
  const declined = await raised(
    () => stripe.paymentIntents.create({ ...manual, payment_method: 'pm_card_chargeDeclined', confirm: true }),
    'pm_card_chargeDeclined',
  );
  check(declined.type === 'StripeCardError' && declined.decline_code === 'generic_decline',
    `declined: ${declined.type} ${declined.decline_code}`);
  check(declined.payment_intent?.status === 'requires_payment_method',
    `the declined intent: ${declined.payment_intent?.status}`);
  check(declined.requestId?.startsWith('req_'), 'a declined answer names its request');

  // Canceled with a reason.
  const canceled = await stripe.paymentIntents.cancel(token.id, { cancellation_reason: 'abandoned' });
  check(canceled.status === 'canceled' && canceled.cancellation_reason === 'abandoned',
    `canceled: ${canceled.status} ${canceled.cancellation_reason}`);
  check(Number.isInteger(canceled.canceled_at), `canceled_at: ${canceled.canceled_at}`);

  // Found by metadata, as the adapter's lookup after a timeout finds an authorization.
  const found = await stripe.paymentIntents.search({ query: "metadata['idempotency_key']:'ord_node_1'" });
  check(found.data.length === 1 && found.data[0].id === visa.id, `search: ${JSON.stringify(found.data)}`);
  const retrieved = await stripe.paymentIntents.retrieve(visa.id);
  check(retrieved.id === visa.id && retrieved.status === 'requires_capture', 'retrieve');

  // The same key replays the first answer.
  const first = await stripe.paymentIntents.create(
    { ...manual, payment_method: 'pm_card_visa', confirm: true },
    { idempotencyKey: 'node-key-1' },
  );
  const replay = await stripe.paymentIntents.create(
    { ...manual, payment_method: 'pm_card_visa', confirm: true },
    { idempotencyKey: 'node-key-1' },
  );
  check(replay.id === first.id, 'a replay answers the same intent');
  check(replay.lastResponse.headers['idempotent-replayed'] === 'true', 'a replay says so');

  // What Stripe answers for a route it does not know, and for a wrong key.
  const unknown = await raised(() => stripe.rawRequest('POST', '/v1/nothing_here', {}), 'unknown route');
  check(unknown.type === 'StripeInvalidRequestError' && unknown.statusCode === 404 &&
      /Unrecognized request URL/.test(unknown.message),
    `unknown route: ${unknown.type} ${unknown.statusCode} ${unknown.message}`);
  const wrong = await raised(() => stripeAt(url, 'sk_test_wrong').paymentIntents.retrieve(visa.id), 'wrong key');
  check(wrong.type === 'StripeAuthenticationError', `a wrong key: ${wrong.type}`);
}

/** Two creates with one key at once, on a slow simulator: the second meets the first in flight. */
async function inFlight(stripe) {
  const create = () =>
    stripe.paymentIntents.create(
      { ...manual, payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: 'node-key-in-flight' },
    );
  const answers = await Promise.allSettled([create(), create()]);
  const created = answers.filter((answer) => answer.status === 'fulfilled');
  const refused = answers.filter((answer) => answer.status === 'rejected').map((answer) => answer.reason);
  check(created.length === 1 && refused.length === 1, `one of two: ${answers.map((a) => a.status)}`);
  // The library raises a 409 as its generic API error; the code says what it was.
  check(refused[0].statusCode === 409 && refused[0].code === 'idempotency_key_in_use' &&
      refused[0].raw?.type === 'idempotency_error',
    `in flight: ${refused[0].statusCode} ${refused[0].code} ${refused[0].raw?.type}`);
}

async function main() {
  const fast = await startGatewaySim();
  const slow = await startGatewaySim(['--latency-ms', '300']);
  try {
    await exercise(stripeAt(fast.url), fast.url);
    await inFlight(stripeAt(slow.url));
  } finally {
    await fast.stop();
    await slow.stop();
  }
  console.log('test_stripe_node: ok');
}

await main();
