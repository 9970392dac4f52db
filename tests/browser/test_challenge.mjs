// On an event that challenges every join and hold, the ALTCHA widget solves the proof of work
// in sight and the page sends the request again with the solution; the fan does nothing.

import { check, kAdmission_ms, runTest, screenshots, smallEvent } from './harness.mjs';

const kEvent = 'Guarded Gala';

await runTest('challenge', async (t) => {
  const event = await t.api.createEvent(
    smallEvent({ name: kEvent, defense: { challenge: 'always' } }),
  );
  const page = await t.newFan();
  const queue_path = `/v1/events/${event.id}/queue`;
  const challenged = page.waitForResponse(
    (r) => r.url().endsWith(queue_path) && r.request().method() === 'POST' && r.status() === 403,
  );
  const solved = page.waitForResponse(
    (r) =>
      r.url().endsWith(queue_path) &&
      r.request().method() === 'POST' &&
      r.request().headers()['x-altcha'] !== undefined,
  );

  await page.goto(t.server.url + '/');
  await page.getByRole('link', { name: kEvent }).click();
  await page.getByRole('link', { name: 'Get tickets' }).click();
  check((await (await challenged).json()).error.code === 'challenge_required', 'no challenge came');
  await page.getByRole('heading', { name: 'Checking your browser' }).waitFor();
  await screenshots(t, page, 'solving');
  const answer = await solved;
  check(answer.status() === 201, `the solved join was answered ${answer.status()}`);

  // Holds are challenged too: the same widget solves that one.
  await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });
  const held = page.waitForResponse(
    (r) => r.url().endsWith('/holds') && r.request().headers()['x-altcha'] !== undefined,
  );
  await page.getByLabel('Quantity').selectOption('1');
  await page.getByRole('button', { name: 'Find seats' }).click();
  check((await held).status() === 201, 'the solved hold was refused');
  await page.waitForURL(/\/checkout\?hold=/);
});
