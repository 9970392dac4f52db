// On an event that challenges every join and hold, the ALTCHA widget solves the proof of work
// in sight and the page sends the request again with the solution; the fan does nothing. The
// page solves ALTCHA's current format (v2, `details.challenge_v2`), and falls back to v1 when a
// refusal offers only that (a server of before v2), which the hold below plays by removing v2
// from the server's answer on its way to the page.

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
  const joined_with = payload(answer);
  check(
    joined_with.challenge?.parameters?.nonce !== undefined &&
      Number.isInteger(joined_with.solution?.counter),
    `the join was not solved in the v2 format: ${JSON.stringify(joined_with)}`,
  );

  // Holds are challenged too: the same widget solves that one, here offered v1 only.
  await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });
  await page.route(/\/holds$/, async (route) => {
    const response = await route.fetch();
    if (response.status() !== 403) return route.fulfill({ response });
    const body = await response.json();
    delete body.error.details.challenge_v2;
    await route.fulfill({ response, json: body });
  });
  const held = page.waitForResponse(
    (r) => r.url().endsWith('/holds') && r.request().headers()['x-altcha'] !== undefined,
  );
  await page.getByLabel('Quantity').selectOption('1');
  await page.getByRole('button', { name: 'Find seats' }).click();
  const hold_answer = await held;
  check(hold_answer.status() === 201, 'the solved hold was refused');
  const held_with = payload(hold_answer);
  check(
    Number.isInteger(held_with.number) && typeof held_with.salt === 'string',
    `the hold was not solved in the v1 format: ${JSON.stringify(held_with)}`,
  );
  await page.waitForURL(/\/checkout\?hold=/);
});

/** The decoded X-Altcha payload a request carried. */
function payload(response) {
  const header = response.request().headers()['x-altcha'];
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
}
