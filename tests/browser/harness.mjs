// What every browser test shares: the real `boxoffice serve` on a free port with a fresh data dir
// and the built pages, Debian's Chromium driven through playwright-core, the operator API for
// setting scenes up, screenshots, and the checks that hold on every page (no request leaves the
// origin, nothing breaks the Content-Security-Policy, no script error).
//
// A test is `runTest(name, async (t) => { ... })`: it gets the server, a browser and helpers,
// and everything is stopped and removed afterwards, whatever happened. Exit code 0 means passed.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo_root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core and axe-core are the web package's dev dependencies.
const require = createRequire(join(repo_root, 'web/package.json'));
const { chromium } = require('playwright-core');

// These are failsafes, not expectations: every wait ends on an event (a locator, a URL, an
// answer), and a limit only decides when a broken page fails instead of hanging. They are far
// above what a working page needs on a loaded two-core machine (issue 21: a verdict must not
// depend on how busy the machine is); the slowest test, test_keyboard, takes 45 s there.
const kServerStart_ms = 60_000;
/** A test that has not finished by then has hung; CTest's own limit (300 s) is higher. */
const kTestTimeout_ms = 240_000;
/** How long a step may wait for the page (a locator, a URL) before the test fails. */
export const kStep_ms = 60_000;
/** Longest a fan may wait in a test's waiting room before the test fails. */
export const kAdmission_ms = 90_000;

export const desktop = { width: 1280, height: 800 };
export const phone = { width: 390, height: 844 };

const output_dir = join(repo_root, 'tests/output');

function resolveFromRoot(path) {
  return resolve(repo_root, path);
}

/** Starts `boxoffice serve --demo` (plus `extra_args`) and resolves once it listens. */
export async function startServer(extra_args = []) {
  const binary = resolveFromRoot(process.env.BOXOFFICE_BINARY ?? 'build/boxoffice');
  const web_dir = resolveFromRoot(process.env.BOXOFFICE_WEB_DIR ?? 'web/dist');
  const data_dir = mkdtempSync(join(tmpdir(), 'boxoffice-browser-'));
  const admin_key = randomBytes(24).toString('hex');
  const child = spawn(
    binary,
    [
      'serve',
      ...['--listen', '127.0.0.1:0', '--data-dir', data_dir, '--demo', '--web-dir', web_dir],
      ...extra_args,
    ],
    {
      env: { ...process.env, BOXOFFICE_ADMIN_KEY: admin_key },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stderr = [];
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const server = await new Promise((resolve_start, reject) => {
    let demo_event_id = null;
    let buffer = '';
    const timer = setTimeout(
      () =>
        reject(new Error(`the server did not start in ${kServerStart_ms} ms:\n${stderr.join('')}`)),
      kServerStart_ms,
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${stderr.join('')}`));
    });
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const demo = line.match(/^boxoffice: demo event at (\S+)\/v1\/events\/(\S+)$/);
        if (demo) demo_event_id = demo[2];
        const listening = line.match(/^boxoffice: listening on (\S+)$/);
        if (listening) {
          clearTimeout(timer);
          resolve_start({ url: listening[1], demo_event_id });
        }
      }
    });
  }).catch((error) => {
    child.kill('SIGKILL');
    rmSync(data_dir, { recursive: true, force: true });
    throw error;
  });
  child.removeAllListeners('exit');
  child.stdout.resume();

  return {
    ...server,
    admin_key,
    stderr: () => stderr.join(''),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(data_dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP client for the API, for setting scenes up the pages then show. */
export function apiClient(server) {
  async function call(method, path, { body, token, headers = {} } = {}) {
    const response = await fetch(server.url + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json =
      text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null;
    return { status: response.status, body: json, text };
  }
  async function expect(status, method, path, options) {
    const answer = await call(method, path, options);
    if (answer.status !== status) {
      throw new Error(`${method} ${path}: expected ${status}, got ${answer.status} ${answer.text}`);
    }
    return answer.body;
  }
  return {
    call,
    expect,
    createEvent: (definition) =>
      expect(201, 'POST', '/v1/events', {
        body: definition,
        token: server.admin_key,
      }),
    patchQueue: (event_id, settings) =>
      expect(200, 'PATCH', `/v1/events/${event_id}/queue`, {
        body: settings,
        token: server.admin_key,
      }),
    async session() {
      return (await expect(201, 'POST', '/v1/sessions', { body: {} })).session_token;
    },
    /** Joins the event's queue as the session's fan and resolves with the access token. */
    async admitted(event_id, token) {
      const joined = await expect(201, 'POST', `/v1/events/${event_id}/queue`, {
        token,
      });
      if (joined.state === 'admitted') return joined.access_token;
      // The stream pushes the admission, so there is nothing to poll for.
      const response = await fetch(`${server.url}/v1/events/${event_id}/queue/stream`, {
        headers: {
          Authorization: `Bearer ${token}`,
          'X-Queue-Ticket': joined.queue_ticket,
        },
      });
      let buffer = '';
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop(); // the unfinished last line waits for the next chunk
        for (const line of lines) {
          if (!line.startsWith('data:')) continue;
          const status = JSON.parse(line.slice(5));
          if (status.state === 'admitted') return status.access_token;
          if (status.state !== 'waiting') throw new Error(`not admitted: ${status.state}`);
        }
      }
      throw new Error('the queue stream ended before the fan was admitted');
    },
  };
}

/** A small event: one section of `seats` seats in row A (the first two accessible). */
export function smallEvent(overrides = {}) {
  const seats = overrides.seats ?? 10;
  const { seats: _seats, ...rest } = overrides;
  return {
    name: 'Small Hall Night',
    starts_at: '2030-05-01T19:00:00Z',
    currency: 'USD',
    price_tiers: [{ id: 'A', name: 'Stalls', price_cents: 4500 }],
    sections: [
      {
        id: '101',
        name: 'Section 101',
        tier: 'A',
        rows: [{ label: 'A', seats, accessible: [1, 2] }],
      },
    ],
    limits: { per_order: 4, per_customer: 8 },
    queue: { enabled: true, admission_rate_per_s: 100, max_active: 5000 },
    ...rest,
  };
}

export async function launchBrowser() {
  // playwright-core gives every launch a fresh, temporary profile of its own and removes it after.
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/**
 * A fan: a browser context of its own (own storage, own session) and its page. Every request is
 * checked to stay on the server's origin; CSP violations and script errors are collected.
 */
export async function newFan(t, options = {}) {
  const context = await t.browser.newContext({
    locale: options.locale ?? 'en-US',
    viewport: desktop,
    bypassCSP: options.bypassCSP ?? false,
    // The host's time zone unless a test needs another (local times the page turns into UTC).
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  const origin = new URL(t.server.url).origin;
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:') return;
    if (url.origin !== origin) t.problems.push(`a request left the origin: ${request.url()}`);
  });
  const page = await context.newPage();
  page.setDefaultTimeout(kStep_ms);
  page.on('pageerror', (error) => t.problems.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) t.problems.push(`CSP: ${text}`);
    else if (message.type() === 'error' && !/Failed to load resource/.test(text)) {
      t.problems.push(`console error: ${text}`);
    }
  });
  t.contexts.push(context);
  return page;
}

/** Screenshots of the page as it is now, on a phone and on a desktop, under tests/output/. */
export async function screenshots(t, page, name) {
  mkdirSync(output_dir, { recursive: true });
  for (const [label, viewport] of [
    ['phone', phone],
    ['desktop', desktop],
  ]) {
    await page.setViewportSize(viewport);
    await page.screenshot({
      path: join(output_dir, `${t.name}-${name}-${label}.png`),
      fullPage: true,
    });
  }
}

const kAxe = join(repo_root, 'web/node_modules/axe-core/axe.min.js');

/**
 * Runs axe-core on the page as it is now and adds every serious or critical violation to
 * `failures`, labelled `where`. The page's context needs bypassCSP: axe is a script the page did
 * not ship, which its own policy rightly refuses.
 */
export async function audit(page, where, failures) {
  await page.addScriptTag({ path: kAxe });
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  for (const violation of result.violations) {
    if (violation.impact !== 'serious' && violation.impact !== 'critical') continue;
    const targets = violation.nodes
      .slice(0, 3)
      .map((node) => node.target.join(' '))
      .join('; ');
    failures.push(
      `${where}: ${violation.id} (${violation.impact}): ${violation.help} at ${targets}`,
    );
  }
}

/** Fails with `message` unless `condition`. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs one test: starts the server (with `options.server_args`) and the browser, runs `body(t)`,
 * then checks that no page broke the shared rules, and stops everything. Prints the outcome and
 * sets the exit code.
 */
export async function runTest(name, body, options = {}) {
  const t = { name, problems: [], contexts: [], server: null, browser: null };
  const started = Date.now();
  let failure = null;
  const timeout = setTimeout(() => {
    console.error(`${name}: FAIL: did not finish within ${kTestTimeout_ms} ms`);
    process.exit(1);
  }, kTestTimeout_ms);
  try {
    t.server = await startServer(options.server_args);
    t.browser = await launchBrowser();
    t.api = apiClient(t.server);
    t.newFan = (options) => newFan(t, options);
    await body(t);
    check(t.problems.length === 0, `the pages broke a rule:\n  ${t.problems.join('\n  ')}`);
  } catch (error) {
    failure = error;
  } finally {
    for (const context of t.contexts) await context.close().catch(() => {});
    await t.browser?.close().catch(() => {});
    await t.server?.stop().catch(() => {});
    clearTimeout(timeout);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failure) {
    console.error(`${name}: FAIL after ${seconds} s: ${failure.stack ?? failure}`);
    if (t.server)
      console.error(
        `server log (last lines):\n${t.server.stderr().split('\n').slice(-15).join('\n')}`,
      );
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`${name}: ok (${seconds} s)`);
  console.log('1 passed, 0 failed');
}

/** The fan's way from the events list to the seats of `event_name`, through the waiting room. */
export async function enterSeats(page, t, event_name) {
  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: event_name }).click();
  await page.getByRole('heading', { level: 1, name: event_name }).waitFor();
  await page.getByRole('link', { name: 'Get tickets' }).click();
  // A fan admitted at once is on the seats before the waiting room could be seen.
  await page.waitForURL(/\/(queue|seats)$/);
  await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });
  await page.getByRole('button', { name: 'Find seats' }).waitFor();
}

/** Pays the hold on the checkout page with `card` and waits for the order page. */
export async function pay(page, card, email = 'fan@example.com') {
  await page.getByRole('timer').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Test card').selectOption(card);
  await page.getByRole('button', { name: 'Pay' }).click();
}
