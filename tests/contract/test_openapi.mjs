// The contract, checked against the running server: docs/openapi.yaml is bundled to JSON by
// Redocly, and every answer of a fan's and an operator's whole day (events, sessions, the queue,
// holds, an order, tickets at the door, a refund, the statistics, keys, the defence lists) must
// have a status the operation documents, and a JSON body that validates against that status's
// schema (Ajv, OpenAPI 3.0's `nullable` included) and names no field the schema leaves out. So
// the spec and the server cannot drift apart without this failing; every mismatch is listed.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { apiClient, check, repo_root, smallEvent, startServer } from '../browser/harness.mjs';
import { redocly } from './redocly.mjs';

const require = createRequire(join(repo_root, 'web/package.json'));
const Ajv = require('ajv');

/** docs/openapi.yaml with every $ref resolved, as Redocly (the linter of test_lint) reads it. */
function bundledSpec() {
  const folder = mkdtempSync(join(tmpdir(), 'boxoffice-contract-'));
  try {
    const output = join(folder, 'openapi.json');
    redocly([
      'bundle',
      join(repo_root, 'docs/openapi.yaml'),
      '--dereferenced',
      '--ext',
      'json',
      '--output',
      output,
    ]);
    return JSON.parse(readFileSync(output, 'utf8'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Finds the operation of a concrete path: literal segments beat `{parameters}`. */
function operationFor(spec, method, path) {
  const segments = path.split('?')[0].split('/');
  let best = null;
  for (const [template, operations] of Object.entries(spec.paths)) {
    const parts = template.split('/');
    if (parts.length !== segments.length || !operations[method]) continue;
    let literal = 0;
    const fits = parts.every((part, i) => {
      if (part.startsWith('{')) return segments[i] !== '';
      literal += 1;
      return part === segments[i];
    });
    if (fits && (!best || literal > best.literal)) best = { template, literal };
  }
  return best && { template: best.template, operation: spec.paths[best.template][method] };
}

/** A schema's properties, its allOf branches' included, and what it says of other keys. */
function shapeOf(schema) {
  const properties = { ...(schema.properties ?? {}) };
  let additional = schema.additionalProperties;
  for (const branch of schema.allOf ?? []) {
    const inner = shapeOf(branch);
    for (const [name, property] of Object.entries(inner.properties)) {
      properties[name] ??= property;
    }
    additional ??= inner.additional;
  }
  return { properties, additional };
}

/**
 * The keys of `value` its schema does not name (where the schema names any and says nothing of
 * others): JSON Schema allows them, but a field the spec leaves out is drift all the same.
 */
function undocumentedKeys(schema, value, path = '') {
  if (!schema || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) {
    return schema.items
      ? value.flatMap((item, i) => undocumentedKeys(schema.items, item, `${path}/${i}`))
      : [];
  }
  if (schema.oneOf || schema.anyOf) return [];
  const { properties, additional } = shapeOf(schema);
  const found = [];
  for (const [key, item] of Object.entries(value)) {
    if (properties[key]) {
      found.push(...undocumentedKeys(properties[key], item, `${path}/${key}`));
    } else if (typeof additional === 'object') {
      found.push(...undocumentedKeys(additional, item, `${path}/${key}`));
    } else if (additional === undefined && Object.keys(properties).length > 0) {
      found.push(`${path}/${key}`);
    }
  }
  return found;
}

function contractChecker(spec) {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const compiled = new Map();
  const problems = [];
  const covered = new Set();
  return {
    problems,
    covered,
    check(method, path, answer) {
      const where = `${method.toUpperCase()} ${path} -> ${answer.status}`;
      const found = operationFor(spec, method.toLowerCase(), path);
      if (!found) {
        problems.push(`${where}: no operation in the spec`);
        return;
      }
      covered.add(`${method.toUpperCase()} ${found.template}`);
      const response =
        found.operation.responses[String(answer.status)] ?? found.operation.responses.default;
      if (!response) {
        problems.push(`${where}: status not documented for ${found.template}`);
        return;
      }
      const json = response.content?.['application/json'];
      if (!json?.schema) return;
      if (answer.body === null) {
        problems.push(`${where}: the spec says JSON, the answer is not`);
        return;
      }
      const key = `${method} ${found.template} ${answer.status}`;
      if (!compiled.has(key)) compiled.set(key, ajv.compile(json.schema));
      const validate = compiled.get(key);
      if (!validate(answer.body)) {
        const errors = validate.errors
          .slice(0, 8)
          .map((e) => `${e.instancePath || '/'} ${e.message}`)
          .join('; ');
        problems.push(`${where}: ${errors}`);
      }
      const undocumented = undocumentedKeys(json.schema, answer.body);
      if (undocumented.length > 0) {
        problems.push(`${where}: fields the spec does not name: ${undocumented.join(', ')}`);
      }
    },
  };
}

async function main() {
  const spec = bundledSpec();
  const checker = contractChecker(spec);
  // Loopback skips the rate limits, so a day's calls are answered on their merits. It is also a
  // trusted proxy, so a call with X-Forwarded-For comes from elsewhere and is scored.
  const server = await startServer([
    '--defense-allowlist',
    '127.0.0.0/8',
    '--trusted-proxies',
    '127.0.0.1/32',
  ]);
  let failure = null;
  try {
    await day(server, checker);
  } catch (error) {
    failure = error;
  } finally {
    await server.stop();
  }
  if (failure) {
    console.error(`contract: FAIL: ${failure.stack ?? failure}\n${server.stderr().slice(-3000)}`);
    process.exit(1);
  }
  const operations = Object.entries(spec.paths).flatMap(([template, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${template}`),
  );
  const untested = operations.filter((operation) => !checker.covered.has(operation));
  if (untested.length > 0) checker.problems.push(`operations never exercised: ${untested}`);
  if (checker.problems.length > 0) {
    console.error(`contract: FAIL: ${checker.problems.length} answers break the spec:`);
    for (const problem of checker.problems) console.error(`  ${problem}`);
    process.exit(1);
  }
  console.log(`contract: ok (${checker.covered.size} operations, every answer as documented)`);
}

/** Calls the API and checks the answer against the spec; `expect` is the status the step needs. */
function client(server, checker) {
  const api = apiClient(server);
  return async function call(expect, method, path, options) {
    const answer = await api.call(method, path, options);
    checker.check(method, path, answer);
    if (answer.status !== expect) {
      throw new Error(`${method} ${path}: expected ${expect}, got ${answer.status} ${answer.text}`);
    }
    return answer.body;
  };
}

async function day(server, checker) {
  const call = client(server, checker);
  const operator = server.admin_key;

  // The public side.
  await call(200, 'GET', '/healthz');
  await call(200, 'GET', '/readyz');
  await call(200, 'GET', '/metrics');
  await call(200, 'GET', '/v1/config');
  await call(200, 'GET', '/v1/openapi.yaml');
  await call(200, 'GET', '/v1/challenge');
  await call(200, 'GET', '/v1/challenge?format=2');
  await call(400, 'GET', '/v1/challenge?format=3');
  await call(200, 'GET', '/v1/events');
  await call(200, 'GET', `/v1/events/${server.demo_event_id}`);
  await call(200, 'GET', `/v1/events/${server.demo_event_id}/seats?section=101`);
  await call(404, 'GET', '/v1/events/evt_none');

  // An operator creates events; mistakes are refused in the documented shape.
  await call(401, 'POST', '/v1/events', { body: smallEvent() });
  await call(422, 'POST', '/v1/events', { body: { name: '' }, token: operator });
  const open = await call(201, 'POST', '/v1/events', {
    body: smallEvent({ name: 'Contract Open Night', queue: { enabled: false } }),
    token: operator,
  });
  const queued = await call(201, 'POST', '/v1/events', {
    body: smallEvent({
      name: 'Contract Queue Night',
      queue: { enabled: true, admission_rate_per_s: 1, max_active: 1 },
    }),
    token: operator,
  });

  // Fans: an account, a login, a guest.
  await call(201, 'POST', '/v1/customers', {
    body: { email: 'contract@example.com', password: 'a long enough password' },
  });
  await call(409, 'POST', '/v1/customers', {
    body: { email: 'contract@example.com', password: 'a long enough password' },
  });
  const fan = (
    await call(201, 'POST', '/v1/sessions', {
      body: { email: 'contract@example.com', password: 'a long enough password' },
    })
  ).session_token;
  await call(401, 'POST', '/v1/sessions', {
    body: { email: 'contract@example.com', password: 'not the password' },
  });
  const guest = (await call(201, 'POST', '/v1/sessions', { body: {} })).session_token;
  await call(200, 'GET', '/v1/sessions/current', { token: fan });
  await call(401, 'GET', '/v1/sessions/current');
  await call(204, 'POST', '/v1/telemetry', {
    token: fan,
    body: { pointer_events: 12, key_events: 3, first_interaction_ms: 900 },
  });

  // The waiting room of a queued event: a join, the fan's status, the operator's controls.
  const joined = await call(201, 'POST', `/v1/events/${queued.id}/queue`, { token: guest });
  const ticket = { 'X-Queue-Ticket': joined.queue_ticket };
  await call(200, 'POST', `/v1/events/${queued.id}/queue`, { token: guest });
  await call(200, 'GET', `/v1/events/${queued.id}/queue/status`, {
    token: guest,
    headers: ticket,
  });
  await call(401, 'GET', `/v1/events/${queued.id}/queue/status`, { token: guest });
  await call(200, 'PATCH', `/v1/events/${queued.id}/queue`, {
    token: operator,
    body: { paused: true, message: 'Back in five minutes' },
  });
  await call(422, 'PATCH', `/v1/events/${queued.id}/queue`, {
    token: operator,
    body: { max_active: -1 },
  });
  // Closed to new fans: a new session's join is 409, the guest already in line keeps its place.
  const closed = await call(200, 'PATCH', `/v1/events/${queued.id}/queue`, {
    token: operator,
    body: { closed: true },
  });
  check(closed.closed === true, `the queue shows closed: ${JSON.stringify(closed)}`);
  await call(409, 'POST', `/v1/events/${queued.id}/queue`, { token: fan });
  await call(200, 'POST', `/v1/events/${queued.id}/queue`, { token: guest });
  await call(200, 'PATCH', `/v1/events/${queued.id}/queue`, {
    token: operator,
    body: { closed: false },
  });
  await call(204, 'DELETE', `/v1/events/${queued.id}/queue`, { token: guest, headers: ticket });

  // The open event: admitted at once, a hold, an order, its tickets.
  const entry = await call(201, 'POST', `/v1/events/${open.id}/queue`, { token: fan });
  const access = { 'X-Access-Token': entry.access_token };
  const released = await call(201, 'POST', `/v1/events/${open.id}/holds`, {
    token: fan,
    headers: access,
    body: { best_available: { quantity: 2 } },
  });
  await call(200, 'GET', `/v1/holds/${released.hold_id}`, { token: fan });
  await call(204, 'DELETE', `/v1/holds/${released.hold_id}`, { token: fan });
  await call(404, 'GET', '/v1/holds/hld_none', { token: fan });
  const hold = await call(201, 'POST', `/v1/events/${open.id}/holds`, {
    token: fan,
    headers: access,
    body: { best_available: { quantity: 1 } },
  });
  await call(409, 'POST', `/v1/events/${open.id}/holds`, {
    token: fan,
    headers: access,
    body: { seats: hold.seats.map(({ id, version }) => ({ id, version })) },
  });
  const placed = await call(201, 'POST', '/v1/orders', {
    token: fan,
    headers: { ...access, 'Idempotency-Key': 'contract-order' },
    body: { hold_id: hold.hold_id, email: 'contract@example.com', payment: { token: 'tok_visa' } },
  });
  await call(422, 'POST', '/v1/orders', {
    token: fan,
    headers: { ...access, 'Idempotency-Key': 'contract-bad-order' },
    body: { hold_id: hold.hold_id, email: 'not an address', payment: { token: 'tok_visa' } },
  });
  let order = placed;
  for (let polls = 0; !order.tickets?.[0]?.code; polls += 1) {
    if (polls > 600) throw new Error(`the order was never ticketed: ${JSON.stringify(order)}`);
    await new Promise((done) => setTimeout(done, 100));
    order = await call(200, 'GET', `/v1/orders/${placed.order_id}`, { token: fan });
  }
  await call(200, 'GET', `/v1/orders/${placed.order_id}`, { token: operator });
  const found = await call(200, 'GET', '/v1/orders?email=CONTRACT%40example.com', {
    token: operator,
  });
  if (found.items[0]?.order_id !== placed.order_id) {
    throw new Error(`the search by email did not find the order: ${JSON.stringify(found)}`);
  }
  await call(400, 'GET', '/v1/orders?email=nobody', { token: operator });
  await call(401, 'GET', '/v1/orders?email=contract%40example.com', { token: fan });
  const qr = await fetch(`${server.url}/v1/tickets/${order.tickets[0].id}/qr.svg`, {
    headers: { Authorization: `Bearer ${fan}` },
  });
  checker.check('GET', `/v1/tickets/${order.tickets[0].id}/qr.svg`, {
    status: qr.status,
    body: null,
  });
  await qr.arrayBuffer();

  // The door.
  const scanner = await call(201, 'POST', `/v1/events/${open.id}/scanner-keys`, {
    token: operator,
    body: {},
  });
  const door = { token: scanner.key, body: { code: order.tickets[0].code } };
  await call(200, 'POST', `/v1/events/${open.id}/checkin`, door);
  await call(409, 'POST', `/v1/events/${open.id}/checkin`, door);
  await call(422, 'POST', `/v1/events/${open.id}/checkin`, {
    token: scanner.key,
    body: { code: 'not a ticket code' },
  });

  // The operator's view and controls.
  await call(200, 'GET', `/v1/events/${open.id}/stats`, { token: operator });
  await call(200, 'GET', `/v1/events/${open.id}/stats/series`, { token: operator });
  await call(401, 'GET', `/v1/events/${open.id}/stats`);
  // The card gateways: the demo's two simulators, 70/30; the Stripe one, first in the
  // round-robin, has taken this day's authorization and capture.
  const gateways = await call(200, 'GET', '/v1/payments/gateways', { token: operator });
  check(
    gateways.items.map((gateway) => `${gateway.name}:${gateway.weight}`).join() ===
      'demo-sim:70,demo-braintree:30' && gateways.items[0].latency.samples > 0,
    `the gateways are ${JSON.stringify(gateways)}`,
  );
  await call(401, 'GET', '/v1/payments/gateways');
  await call(200, 'POST', `/v1/orders/${placed.order_id}/refund`, {
    token: operator,
    headers: { 'Idempotency-Key': 'contract-refund' },
    body: {},
  });
  const viewer = await call(201, 'POST', '/v1/operator-keys', {
    token: operator,
    body: { scope: 'viewer', label: 'wall screen' },
  });
  await call(200, 'GET', '/v1/operator-keys', { token: operator });
  await call(403, 'PATCH', `/v1/events/${open.id}/queue`, {
    token: viewer.key,
    body: { paused: true },
  });
  await call(200, 'GET', '/v1/audit', { token: viewer.key });
  await call(204, 'DELETE', `/v1/operator-keys/${viewer.id}`, { token: operator });
  await call(404, 'DELETE', `/v1/operator-keys/${viewer.id}`, { token: operator });
  for (const list of ['blocklist', 'allowlist']) {
    await call(201, 'POST', `/v1/defense/${list}`, {
      token: operator,
      body: { cidr: '203.0.113.0/24', reason: 'contract test', ttl_s: 600 },
    });
    await call(422, 'POST', `/v1/defense/${list}`, { token: operator, body: { cidr: 'nope' } });
    await call(200, 'GET', `/v1/defense/${list}`, { token: operator });
    await call(204, 'DELETE', `/v1/defense/${list}?cidr=203.0.113.0/24`, { token: operator });
  }
  // A hold from beyond the allowlisted loopback is scored and so in the decision log; read back
  // through every filter, from the newest end, so the entries' schema is checked too.
  const outsider = (await call(201, 'POST', '/v1/sessions', { body: {} })).session_token;
  await call(201, 'POST', `/v1/events/${open.id}/holds`, {
    token: outsider,
    headers: { 'X-Forwarded-For': '198.51.100.7' },
    body: { best_available: { quantity: 1 } },
  });
  await call(200, 'GET', '/v1/defense/decisions', { token: operator });
  // The busiest client networks of the event: the outsider's is one.
  const clients = await call(200, 'GET', `/v1/events/${open.id}/stats/clients`, {
    token: operator,
  });
  check(
    clients.items.some((item) => item.prefix === '198.51.100.0/24'),
    `the outsider's network is not among ${JSON.stringify(clients)}`,
  );
  await call(400, 'GET', `/v1/events/${open.id}/stats/clients?window_s=0`, { token: operator });
  const filtered = await call(
    200,
    'GET',
    '/v1/defense/decisions?before=9007199254740991&limit=5&decision=allowed' +
      '&route_class=hold&client=198.51.100.0/24',
    { token: operator },
  );
  check(
    filtered.items.length === 1 && filtered.items[0].client === '198.51.100.7',
    `the filtered decision log answered ${JSON.stringify(filtered.items)}`,
  );
  await call(400, 'GET', '/v1/defense/decisions?decision=rate_limited', { token: operator });

  // The two streams: their refusals are JSON, checked like every answer; their 200 is a stream.
  await call(401, 'GET', `/v1/events/${queued.id}/queue/stream`, { token: guest });
  await call(401, 'GET', `/v1/events/${open.id}/stats/stream`);
}

await main();
