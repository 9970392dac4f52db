// The console's defence page, driven as an operator would. Fans' scripts from several networks
// join the queue of an event that challenges every join and hold seats of one that scores them;
// the operator filters the decision log by decision, route and client prefix and sees exactly
// the matching entries, with the features that explain each score (and whether the score or the
// event asked for the challenge); a new decision appears on its own; more matches than a page
// are paged through with Older and Newer. Then a range is blocked (and refused by the server),
// listed and removed after a confirmation; the static allowlist is shown but not removable; a
// viewer key reads and filters everything and is told it may not block. axe-core audits the page
// on a phone and a desktop, and with the confirmation open.
//
// The server trusts loopback as a proxy, so each fan's X-Forwarded-For is its client address.

import { audit, check, desktop, phone, runTest, screenshots, smallEvent } from './harness.mjs';

const kNewest = Number.MAX_SAFE_INTEGER;
/** The fans' scripts name their HTTP library, as botsim's naive bots do. */
const kScriptAgent = 'python-requests/2.31.0';
/** Chrome's user agent and language without its client hints, and no page telemetry. */
const kCopiedChrome = {
  'User-Agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 ' +
    'Safari/537.36',
  'Accept-Language': 'en-US,en;q=0.9',
};

/** A step's own deadline: the page refreshes every 2 s, so this is many refreshes. */
const kSettle_ms = 30_000;

async function signIn(page, t, key) {
  await page.goto(t.server.url + '/console');
  await page.getByLabel('Operator key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Defence' }).click();
  await page.getByRole('heading', { level: 1, name: 'Defence' }).waitFor();
}

/** The decision log table's rows as [time, route, event, client, score, decision, why] texts. */
async function decisionRows(page) {
  const table = page.getByRole('table', { name: 'Decision log' });
  if ((await table.count()) === 0) return [];
  // A cell's own text, or its summary's (the why), link's, time's or badge's.
  return table.locator('tbody > tr').evaluateAll((rows) =>
    rows.map((row) =>
      [...row.cells].map((cell) =>
        (cell.querySelector('summary, a, time, span') ?? cell).textContent.trim(),
      ),
    ),
  );
}

/** Waits until the table's client and decision columns are `expected` ([client, decision]). */
async function waitForRows(page, expected, what) {
  const deadline = Date.now() + kSettle_ms;
  let rows = [];
  while (Date.now() < deadline) {
    rows = await decisionRows(page);
    const seen = rows.map((row) => [row[3], row[5]]);
    if (JSON.stringify(seen) === JSON.stringify(expected)) return rows;
    await page.waitForTimeout(200);
  }
  throw new Error(
    `${what}: the table shows ${JSON.stringify(rows.map((row) => [row[3], row[5]]))}, ` +
      `expected ${JSON.stringify(expected)}`,
  );
}

await runTest(
  'console_defense',
  async (t) => {
    const failures = [];
    const guarded = await t.api.createEvent(
      smallEvent({ name: 'Guarded Defence Night', defense: { challenge: 'always' } }),
    );
    const scored = await t.api.createEvent(
      smallEvent({ name: 'Scored Defence Night', queue: { enabled: false } }),
    );
    /** One scored request from `client`, as a fan's script would send it. */
    const fan = async (client, method, path, body, headers = { 'User-Agent': kScriptAgent }) => {
      const token = await t.api.session();
      return t.api.call(method, path, {
        token,
        body,
        headers: { 'X-Forwarded-For': client, ...headers },
      });
    };
    const join = (client, event) => fan(client, 'POST', `/v1/events/${event.id}/queue`);
    const hold = (client) =>
      fan(client, 'POST', `/v1/events/${scored.id}/holds`, { best_available: { quantity: 1 } });

    // Challenged inside 203.0.113.0/24 (three fans), let through inside it (a hold), and
    // challenged or let through elsewhere: only the first three match both filters.
    for (const [client, answer] of [
      [await join('203.0.113.10', guarded), 403],
      [await join('198.51.100.5', guarded), 403],
      [await join('203.0.113.11', guarded), 403],
      [await hold('203.0.113.20'), 201],
      [await join('2001:db8::7', guarded), 403],
      [await join('203.0.113.12', guarded), 403],
      [await hold('198.51.100.6'), 201],
    ]) {
      check(client.status === answer, `a fan was answered ${client.status} ${client.text}`);
      if (answer === 403) {
        check(client.body.error.code === 'challenge_required', `refused with ${client.text}`);
      }
    }
    const logged = await t.api.expect(
      200,
      'GET',
      `/v1/defense/decisions?before=${kNewest}&decision=challenged&client=203.0.113.0/24`,
      { token: t.server.admin_key },
    );
    check(
      JSON.stringify(logged.items.map((item) => item.client)) ===
        JSON.stringify(['203.0.113.10', '203.0.113.11', '203.0.113.12']),
      `the server's own filter answered ${JSON.stringify(logged.items)}`,
    );

    const operator = await t.newFan({ bypassCSP: true });
    await signIn(operator, t, t.server.admin_key);
    const decision_select = operator.getByRole('combobox', { name: 'Decision' });
    const route_select = operator.getByRole('combobox', { name: 'Route' });
    const client_box = operator.getByRole('textbox', { name: /^Client prefix/ });
    await waitForRows(
      operator,
      [
        ['198.51.100.6', 'allowed'],
        ['203.0.113.12', 'challenged'],
        ['2001:db8::7', 'challenged'],
        ['203.0.113.20', 'allowed'],
        ['203.0.113.11', 'challenged'],
        ['198.51.100.5', 'challenged'],
        ['203.0.113.10', 'challenged'],
      ],
      'unfiltered',
    );

    // Challenged, then also inside the prefix: the server filters, newest first.
    await decision_select.selectOption('challenged');
    await waitForRows(
      operator,
      [
        ['203.0.113.12', 'challenged'],
        ['2001:db8::7', 'challenged'],
        ['203.0.113.11', 'challenged'],
        ['198.51.100.5', 'challenged'],
        ['203.0.113.10', 'challenged'],
      ],
      'challenged',
    );
    await client_box.fill('203.0.113.0/24');
    await operator.getByRole('button', { name: 'Filter' }).click();
    const rows = await waitForRows(
      operator,
      [
        ['203.0.113.12', 'challenged'],
        ['203.0.113.11', 'challenged'],
        ['203.0.113.10', 'challenged'],
      ],
      'challenged in 203.0.113.0/24',
    );
    check(
      rows.every((row) => row[1] === 'queue join' && row[2] === guarded.id),
      `the rows' routes and events are ${JSON.stringify(rows)}`,
    );
    // Why: these scores are below the model's threshold, so the event's policy challenged them;
    // the script's user agent and its page that never posted telemetry raised the score most,
    // and the details list every feature with its weight.
    const kWhy = /^the event challenges every request; ua_automation \+2\.00, telemetry_missing/;
    check(
      rows.every((row) => kWhy.test(row[6])),
      `the features shown are ${JSON.stringify(rows.map((row) => row[6]))}`,
    );
    const first_row = operator
      .getByRole('table', { name: 'Decision log' })
      .locator('tbody > tr')
      .first();
    await first_row.getByText(kWhy).click();
    await first_row.getByText('ua_automation', { exact: true }).waitFor();
    await first_row.getByText(/^0\.00 × 2 = 0\.00$/).first().waitFor();

    // A new challenged fan in the prefix shows up without a reload; one outside it does not (a
    // script with a browser's copied headers, challenged by its score).
    const copied = await fan(
      '198.51.100.9',
      'POST',
      `/v1/events/${scored.id}/holds`,
      { best_available: { quantity: 1 } },
      kCopiedChrome,
    );
    check(copied.status === 403, `copied headers were answered ${copied.status} ${copied.text}`);
    check((await join('203.0.113.13', guarded)).status === 403, 'the new fan was let in');
    await waitForRows(
      operator,
      [
        ['203.0.113.13', 'challenged'],
        ['203.0.113.12', 'challenged'],
        ['203.0.113.11', 'challenged'],
        ['203.0.113.10', 'challenged'],
      ],
      'after a new decision',
    );
    // More matches than a page (50): the newest page, then the older ones, then back.
    for (let i = 1; i <= 55; i += 1) {
      const answer = await t.api.call('POST', `/v1/events/${guarded.id}/queue`, {
        headers: { 'X-Forwarded-For': `198.18.0.${i}`, 'User-Agent': kScriptAgent },
      });
      check(answer.status === 403, `a sessionless join was answered ${answer.status}`);
    }
    const farm = (from, to) =>
      Array.from({ length: from - to + 1 }, (_, i) => [`198.18.0.${from - i}`, 'challenged']);
    await client_box.fill('198.18.0.0/24');
    await client_box.press('Enter');
    await waitForRows(operator, farm(55, 6), 'the newest page');
    await operator.getByRole('button', { name: 'Older' }).click();
    await waitForRows(operator, farm(5, 1), 'the page before');
    await operator.getByText('Older entries, newest first; not refreshing.').waitFor();
    check(
      await operator.getByRole('button', { name: 'Older' }).isDisabled(),
      'the oldest page offers older entries',
    );
    await operator.getByRole('button', { name: 'Newer' }).click();
    await waitForRows(operator, farm(55, 6), 'the newest page again');
    await operator
      .getByText(/^The newest entries, newest first; refreshed every 2 seconds/)
      .waitFor();
    await client_box.fill('203.0.113.0/24');
    await client_box.press('Enter');

    // A bad prefix is the server's 400, shown as it says, instead of the other filters' rows.
    await client_box.fill('203.0.113.0/33');
    await operator.getByRole('button', { name: 'Filter' }).click();
    await operator.getByRole('alert').filter({ hasText: 'invalid_parameter' }).waitFor();
    await operator.getByRole('table', { name: 'Decision log' }).waitFor({ state: 'detached' });
    await client_box.fill('203.0.113.0/24');
    await route_select.selectOption('hold');
    await operator.getByText('No decision here matches the filters.').waitFor();
    await decision_select.selectOption({ label: 'any' });
    await waitForRows(operator, [['203.0.113.20', 'allowed']], 'holds in 203.0.113.0/24');
    await route_select.selectOption({ label: 'any' });
    await decision_select.selectOption('challenged');
    await waitForRows(
      operator,
      [
        ['203.0.113.13', 'challenged'],
        ['203.0.113.12', 'challenged'],
        ['203.0.113.11', 'challenged'],
        ['203.0.113.10', 'challenged'],
      ],
      'filters set again',
    );
    await operator.setViewportSize(phone);
    await audit(operator, 'defence page (phone)', failures);
    await operator.setViewportSize(desktop);
    await audit(operator, 'defence page (desktop)', failures);
    await screenshots(t, operator, 'filtered');

    // Block a range for half an hour: listed on the page and by the API, and in force.
    const blocklist = operator.getByRole('region', { name: 'Blocklist', exact: true });
    await blocklist.getByRole('textbox', { name: /^Range/ }).fill('192.0.2.0/24');
    await blocklist.getByRole('textbox', { name: /^Reason/ }).fill('scalper farm');
    await blocklist.getByRole('spinbutton', { name: /^Expires after/ }).fill('30');
    await blocklist.getByRole('button', { name: 'Block' }).click();
    await blocklist
      .getByRole('status')
      .filter({ hasText: '192.0.2.0/24 is blocked until' })
      .waitFor();
    const blocked_row = blocklist.getByRole('row').filter({ hasText: '192.0.2.0/24' });
    await blocked_row.getByRole('cell', { name: 'scalper farm' }).waitFor();
    const listed = await t.api.expect(200, 'GET', '/v1/defense/blocklist', {
      token: t.server.admin_key,
    });
    const entry = listed.items.find((item) => item.cidr === '192.0.2.0/24');
    check(entry?.reason === 'scalper farm', `the blocklist is ${JSON.stringify(listed.items)}`);
    const ttl_s = (Date.parse(entry.expires_at) - Date.parse(entry.created_at)) / 1000;
    check(ttl_s === 1800, `the block lasts ${ttl_s} s`);
    const refused = await t.api.call('POST', '/v1/sessions', {
      body: {},
      headers: { 'X-Forwarded-For': '192.0.2.44' },
    });
    check(
      refused.status === 403 && refused.body.error.code === 'blocked',
      `a blocked client was answered ${refused.status} ${refused.text}`,
    );
    await screenshots(t, operator, 'blocked');

    // Removed after a confirmation; cancelling first changes nothing.
    await blocked_row.getByRole('button', { name: 'Remove' }).click();
    const dialog = operator.getByRole('dialog', { name: 'Unblock 192.0.2.0/24?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    check(
      (await t.api.expect(200, 'GET', '/v1/defense/blocklist', { token: t.server.admin_key })).items
        .length === 1,
      'cancelling removed the block',
    );
    await blocked_row.getByRole('button', { name: 'Remove' }).click();
    await dialog.waitFor();
    await audit(operator, 'defence page with the dialog open', failures);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await blocklist
      .getByRole('status')
      .filter({ hasText: '192.0.2.0/24 is no longer blocked.' })
      .waitFor();
    await blocklist.getByText('Nothing is blocked.').waitFor();
    const after = await t.api.expect(200, 'GET', '/v1/defense/blocklist', {
      token: t.server.admin_key,
    });
    check(after.items.length === 0, `the blocklist is still ${JSON.stringify(after.items)}`);

    // The static allowlist is shown, with no way to remove it here.
    const allowlist = operator.getByRole('region', { name: 'Allowlist', exact: true });
    const static_row = allowlist.getByRole('row').filter({ hasText: '10.0.0.0/8' });
    await static_row.getByText('set by --defense-allowlist').waitFor();
    check((await static_row.getByRole('button').count()) === 0, 'a static range is removable');

    // A viewer key reads the lists and the log, and is told it may not block.
    const viewer = await t.api.expect(201, 'POST', '/v1/operator-keys', {
      token: t.server.admin_key,
      body: { scope: 'viewer', label: 'wall screen' },
    });
    const wall = await t.newFan();
    await signIn(wall, t, viewer.key);
    await waitForRows(wall, farm(55, 6), 'viewer');
    await wall.getByRole('textbox', { name: /^Client prefix/ }).fill('198.51.100.0/24');
    await wall.getByRole('button', { name: 'Filter' }).click();
    await waitForRows(
      wall,
      [
        ['198.51.100.9', 'challenged'],
        ['198.51.100.6', 'allowed'],
        ['198.51.100.5', 'challenged'],
      ],
      'viewer, in 198.51.100.0/24',
    );
    // The score asked for this challenge: its why is the copied headers, not the event.
    const copied_row = (await decisionRows(wall)).find((row) => row[3] === '198.51.100.9');
    check(
      copied_row[1] === 'hold' &&
        Number(copied_row[4]) >= 0.5 &&
        /^browser_without_telemetry \+3\.50, client_hints_missing \+2\.50/.test(copied_row[6]),
      `the copied headers' row is ${JSON.stringify(copied_row)}`,
    );
    const wall_blocklist = wall.getByRole('region', { name: 'Blocklist', exact: true });
    await wall_blocklist.getByRole('textbox', { name: /^Range/ }).fill('192.0.2.0/24');
    await wall_blocklist.getByRole('button', { name: 'Block' }).click();
    await wall_blocklist.getByRole('status').filter({ hasText: 'may only view' }).waitFor();
    check(
      (await t.api.expect(200, 'GET', '/v1/defense/blocklist', { token: t.server.admin_key }))
        .items.length === 0,
      'a viewer key blocked a range',
    );

    check(failures.length === 0, `axe found:\n  ${failures.join('\n  ')}`);
  },
  { server_args: ['--trusted-proxies', '127.0.0.1/32', '--defense-allowlist', '10.0.0.0/8'] },
);
