#!/usr/bin/env node
// The README's picture of the operator console, taken during a real simulated on-sale: starts
// `boxoffice serve --demo` on a free port with a fresh data dir, plays `boxoffice onsale` against
// it (20,000 fans for 5,000 seats by default), opens the dashboard of the on-sale's event in
// Debian's Chromium once the line has formed and the sale is well under way, and writes
// docs/images/console-dashboard.png. Not a test (nothing is asserted): run it after a change to
// the dashboard's looks, from the repository's root, with `build/` and `web/dist` built:
//
//   node scripts/console-screenshot.mjs [--fans N] [--seats N] [--after-s S] [--out FILE]

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { desktop, launchBrowser, repo_root, startServer } from '../tests/browser/harness.mjs';

const { values: options } = parseArgs({
  options: {
    fans: { type: 'string', default: '20000' },
    seats: { type: 'string', default: '5000' },
    // Seconds after the opening at which the picture is taken: the spike has arrived, the line
    // is long, and orders flow.
    'after-s': { type: 'string', default: '30' },
    out: { type: 'string', default: join(repo_root, 'docs/images/console-dashboard.png') },
  },
});
const kPrequeue_s = 10;

const server = await startServer(['--trusted-proxies', '127.0.0.1/32']);
let onsale = null;
let browser = null;
try {
  const before = await listEvents(server);
  onsale = spawn(
    join(repo_root, 'build/boxoffice'),
    [
      'onsale',
      ...['--url', server.url, '--fans', options.fans, '--seats', options.seats],
      ...['--admission-rate', '100', '--max-active', '400', '--prequeue-s', String(kPrequeue_s)],
      ...['--spike-s', '20', '--tail-s', '60', '--quiet'],
    ],
    { env: { ...process.env, BOXOFFICE_ADMIN_KEY: server.admin_key }, stdio: 'inherit' },
  );
  const event_id = await newEvent(server, before, onsale);
  console.log(`console-screenshot: the on-sale's event is ${event_id}`);

  browser = await launchBrowser();
  const page = await (await browser.newContext({ viewport: desktop })).newPage();
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Operator key').fill(server.admin_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.goto(`${server.url}/console/events/${event_id}`);
  await page.getByRole('heading', { name: 'Last hour' }).waitFor();
  await new Promise((done) => setTimeout(done, (kPrequeue_s + Number(options['after-s'])) * 1000));
  await page.screenshot({ path: options.out, fullPage: true });
  console.log(`console-screenshot: wrote ${options.out}`);
} finally {
  await browser?.close();
  onsale?.kill('SIGTERM');
  await server.stop();
}

async function listEvents(server) {
  const answer = await fetch(`${server.url}/v1/events?limit=200`);
  return new Set((await answer.json()).items.map((event) => event.id));
}

// The event `boxoffice onsale` creates: the one that was not there before it started. Gives up
// when onsale exits first or after a minute.
async function newEvent(server, before, onsale) {
  const deadline = Date.now() + 60_000;
  while (onsale.exitCode === null && Date.now() < deadline) {
    for (const id of await listEvents(server)) if (!before.has(id)) return id;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`boxoffice onsale created no event (exit code ${onsale.exitCode})`);
}
