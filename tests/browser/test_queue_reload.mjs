// A fan waiting in a paused queue keeps the same place across a reload (the page resumes the
// stored ticket instead of joining again), sees the pause as such, and moves on to the seats by
// itself once the operator resumes the sale.

import { check, kAdmission_ms, runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Waiting Game';

async function shownPosition(page) {
  const status = page.getByRole('status').filter({ hasText: /\d/ });
  await status.waitFor();
  return Number((await status.innerText()).match(/\d+/)[0]);
}

await runTest('queue_reload', async (t) => {
  const event = await t.api.createEvent(
    smallEvent({ name: kEvent, queue: { enabled: true, paused: true } }),
  );
  // Two fans ahead, so the place shown is not just the first one.
  for (let i = 0; i < 2; ++i) {
    const token = await t.api.session();
    await t.api.expect(201, 'POST', `/v1/events/${event.id}/queue`, { token });
  }

  const page = await t.newFan();
  const joins = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith(`/v1/events/${event.id}/queue`)) {
      joins.push(request.url());
    }
  });
  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kEvent }).click();
  await page.getByRole('link', { name: 'Get tickets' }).click();
  await page.waitForURL(/\/queue$/);
  const before = await shownPosition(page);
  check(before === 3, `expected place 3 behind two fans, the page shows ${before}`);
  await page.getByText('The sale is paused').waitFor();
  await page.getByRole('progressbar').waitFor();
  await screenshots(t, page, 'waiting');

  await page.reload();
  const after = await shownPosition(page);
  check(after === before, `the place changed across the reload: ${before} before, ${after} after`);
  check(
    joins.length === 1,
    `the page joined ${joins.length} times; a reload must resume, not join`,
  );

  await t.api.patchQueue(event.id, { paused: false });
  await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });
  await page.getByRole('checkbox', { name: '101-A-1', exact: true }).waitFor();
});
