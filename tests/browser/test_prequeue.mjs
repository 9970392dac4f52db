// Before the on-sale the event page counts down to it, and a fan who joins waits in the
// pre-queue.

import { runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Early Bird Session';

await runTest('prequeue', async (t) => {
  const in_an_hour = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await t.api.createEvent(smallEvent({ name: kEvent, onsale_at: in_an_hour }));
  const page = await t.newFan();
  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kEvent }).click();
  await page
    .getByRole('timer')
    .filter({ hasText: /\d+ min/ })
    .waitFor();
  await screenshots(t, page, 'countdown');
  await page.getByRole('link', { name: 'Get tickets' }).click();
  await page.getByRole('status').filter({ hasText: 'pre-queue' }).waitFor();
  await screenshots(t, page, 'prequeue');
});
