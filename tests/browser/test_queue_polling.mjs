// With no event stream to be had (the server's stream cap reached: here it is 0), the waiting
// room falls back to polling `queue/status` as `retry_after_s` says, and still moves the fan on
// to the seats once admitted.

import { check, kAdmission_ms, runTest, smallEvent } from './harness.mjs';

const kEvent = 'Slow Lane Social';

await runTest(
  'queue_polling',
  async (t) => {
    const event = await t.api.createEvent(
      smallEvent({ name: kEvent, queue: { enabled: true, paused: true } }),
    );
    const page = await t.newFan();
    const refused = page.waitForResponse((r) => r.url().endsWith('/queue/stream'));
    const polled = page.waitForResponse((r) => r.url().endsWith('/queue/status') && r.ok());
    await page.goto(t.server.url + '/');
    await page.getByRole('link', { name: kEvent }).click();
    await page.getByRole('link', { name: 'Get tickets' }).click();
    check((await refused).status() === 503, 'the stream was not refused');
    await page.getByText('Updates every few seconds').waitFor();
    await page.getByRole('status').filter({ hasText: 'number 1 in line' }).waitFor();
    await polled;

    await t.api.patchQueue(event.id, { paused: false });
    await page.waitForURL(/\/seats$/, { timeout: kAdmission_ms });
  },
  { server_args: ['--max-streams', '0'] },
);
