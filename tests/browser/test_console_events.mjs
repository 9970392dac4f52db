// Creating events from the operator's console: through the form (two tiers, two sections with
// accessible seats, every setting changed from its default), which opens the new event's
// dashboard and holds exactly what was typed; a value the server refuses shows at its field and in
// an alert with everything typed kept, then goes through once corrected; a JSON definition
// uploaded as a file (a broken file says so); a viewer key is refused; and axe finds nothing
// serious on the form, with and without problems shown, on a phone and on a desktop.

import { audit, check, desktop, phone, runTest, screenshots } from './harness.mjs';

const kDashboard = /\/console\/events\/evt_[A-Za-z0-9_-]+$/;

async function signIn(page, t, key) {
  await page.goto(t.server.url + '/console');
  await page.getByLabel('Operator key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
}

/** Opens the form from the events page's link, as an operator finds it. */
async function openForm(page, t) {
  await page.goto(t.server.url + '/console');
  await page.getByRole('link', { name: 'Create an event' }).click();
  await page.waitForURL(/\/console\/events\/new$/);
  await page.getByRole('heading', { level: 1, name: 'Create an event' }).waitFor();
  return page.getByRole('form', { name: 'Fill in the event' });
}

const field = (scope, label) => scope.getByLabel(label, { exact: true });
// Tiers and sections have a Name too: the event's own is in the group "The event".
const eventName = (form) => field(form.getByRole('group', { name: 'The event' }), 'Name');

async function fillTier(form, place, { id, name, price }) {
  const tier = form.getByRole('group', { name: `Price tier ${place}`, exact: true });
  await field(tier, 'ID').fill(id);
  await field(tier, 'Name').fill(name);
  await tier.getByLabel(/^Price \(/).fill(price);
}

async function fillSection(form, place, { id, name, tier, rows, seats, accessible }) {
  const section = form.getByRole('group', { name: `Section ${place}`, exact: true });
  await field(section, 'ID').fill(id);
  await field(section, 'Name').fill(name);
  await field(section, 'Price tier').selectOption({ label: tier });
  await field(section, 'Rows').fill(rows);
  await field(section, 'Seats per row').fill(seats);
  await field(section, 'Accessible seats').fill(accessible);
  return section;
}

/** The parts of an event the form sets, in a shape two events can be compared by. */
function shape(event) {
  return JSON.stringify({
    name: event.name,
    venue: event.venue,
    starts_at: event.starts_at,
    onsale_at: event.onsale_at,
    currency: event.currency,
    price_tiers: event.price_tiers,
    sections: event.sections,
    seat_count: event.seat_count,
    limits: event.limits,
    hold_ttl_s: event.hold_ttl_s,
    queue: {
      enabled: event.queue.enabled,
      policy: event.queue.policy,
      admission_rate_per_s: event.queue.admission_rate_per_s,
      max_active: event.queue.max_active,
      access_ttl_s: event.queue.access_ttl_s,
    },
    defense: event.defense,
  });
}

async function eventNamed(t, name) {
  const list = await t.api.expect(200, 'GET', '/v1/events?limit=200');
  return list.items.find((event) => event.name === name);
}

// A definition with rows of different lengths: the form cannot draw it, the upload sends it as is.
const kUploaded = {
  name: 'Uploaded Hall Night',
  venue: 'Small Hall',
  price_tiers: [{ id: 'S', name: 'Stalls', price_cents: 3000 }],
  sections: [
    {
      id: 'S1',
      name: 'Stalls',
      tier: 'S',
      rows: [
        { label: 'A', seats: 12, accessible: [1, 2] },
        { label: 'B', seats: 14 },
      ],
    },
    { id: 'S2', tier: 'S', rows: [{ label: 'A', seats: 8 }] },
  ],
  queue: { enabled: true, admission_rate_per_s: 50, max_active: 400 },
};

// One the form can draw: rows A and B of one length.
const kLoadable = {
  name: 'Loaded Into The Form',
  price_tiers: [{ id: 'G', name: 'General', price_cents: 1250 }],
  sections: [
    {
      id: 'G1',
      tier: 'G',
      rows: [
        { label: 'A', seats: 6, accessible: [1, 2, 3, 6] },
        { label: 'B', seats: 6 },
      ],
    },
  ],
};

/**
 * The harness's screenshots, then the page scrolled back to the top: after the full-page shots
 * of a page this long, Chromium was left scrolled where Playwright's next click landed beside its
 * button (on the form around it) instead of scrolling to it.
 */
async function shoot(t, page, name) {
  await screenshots(t, page, name);
  await page.evaluate(() => window.scrollTo(0, 0));
}

const jsonFile = (name, value) => ({
  name,
  mimeType: 'application/json',
  buffer: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
});

await runTest('console_events', async (t) => {
  // Paris, so that the times the operator types are not already UTC.
  const operator = await t.newFan({ timezoneId: 'Europe/Paris' });
  await signIn(operator, t, t.server.admin_key);

  // The form, every part of it set.
  let form = await openForm(operator, t);
  await eventName(form).fill('Form Test Night');
  await field(form, 'Venue').fill('Olympia, Paris');
  await field(form, 'Starts at').fill('2030-05-01T19:30');
  await field(form, 'On sale from').fill('2030-04-01T10:00');
  await field(form, 'Currency').fill('EUR');
  await fillTier(form, 1, { id: 'A', name: 'Floor', price: '45.50' });
  await form.getByRole('button', { name: 'Add a price tier' }).click();
  await fillTier(form, 2, { id: 'B', name: 'Balcony', price: '19.99' });
  const floor = await fillSection(form, 1, {
    id: '101',
    name: 'Floor 101',
    tier: 'A (Floor)',
    rows: '3',
    seats: '10',
    accessible: 'A1-4, C10',
  });
  await form.getByRole('button', { name: 'Add a section' }).click();
  await fillSection(form, 2, {
    id: '201',
    name: 'Balcony 201',
    tier: 'B (Balcony)',
    rows: '2',
    seats: '5',
    accessible: 'B5',
  });
  await field(form, 'Tickets per order').fill('4');
  await field(form, 'Tickets per customer').fill('6');
  await field(form, 'Hold time (seconds)').fill('300');
  await field(form, 'Order in line').selectOption('shuffle_prequeue');
  await field(form, 'Admission rate').fill('25');
  await field(form, 'Max active').fill('200');
  await field(form, 'Time to shop (seconds)').fill('900');
  await field(form, 'Bot challenge').selectOption('always');
  // The seat counts the form shows are counted from what was typed.
  await floor.getByText('30 seats in rows A to C, 5 accessible.').waitFor();
  await form.getByText('In all: 40 seats, 6 of them accessible.').waitFor();
  await shoot(t, operator, 'form_filled');
  await form.getByRole('button', { name: 'Create event' }).click();
  await operator.waitForURL(kDashboard);
  await operator.getByRole('heading', { level: 1, name: 'Form Test Night' }).waitFor();

  // The event holds exactly what was typed, the times in UTC (Paris is two hours ahead in summer).
  const id = operator.url().split('/').pop();
  const expected = {
    name: 'Form Test Night',
    venue: 'Olympia, Paris',
    starts_at: '2030-05-01T17:30:00Z',
    onsale_at: '2030-04-01T08:00:00Z',
    currency: 'EUR',
    price_tiers: [
      { id: 'A', name: 'Floor', price_cents: 4550 },
      { id: 'B', name: 'Balcony', price_cents: 1999 },
    ],
    sections: [
      {
        id: '101',
        name: 'Floor 101',
        tier: 'A',
        rows: [
          { label: 'A', seats: 10, accessible: [1, 2, 3, 4] },
          { label: 'B', seats: 10, accessible: [] },
          { label: 'C', seats: 10, accessible: [10] },
        ],
      },
      {
        id: '201',
        name: 'Balcony 201',
        tier: 'B',
        rows: [
          { label: 'A', seats: 5, accessible: [] },
          { label: 'B', seats: 5, accessible: [5] },
        ],
      },
    ],
    seat_count: 40,
    limits: { per_order: 4, per_customer: 6 },
    hold_ttl_s: 300,
    queue: {
      enabled: true,
      policy: 'shuffle_prequeue',
      admission_rate_per_s: 25,
      max_active: 200,
      access_ttl_s: 900,
    },
    defense: { challenge: 'always' },
  };
  const created = await t.api.expect(200, 'GET', `/v1/events/${encodeURIComponent(id)}`);
  check(
    shape(created) === shape(expected),
    `the event holds\n  ${shape(created)}\nwhere the form said\n  ${shape(expected)}`,
  );
  const seats = await t.api.expect(200, 'GET', `/v1/events/${encodeURIComponent(id)}/seats`);
  const accessible = seats.seats.filter((seat) => seat.accessible).map((seat) => seat.id);
  check(
    JSON.stringify(accessible) ===
      JSON.stringify(['101-A-1', '101-A-2', '101-A-3', '101-A-4', '101-C-10', '201-B-5']),
    `the accessible seats are ${accessible.join(', ')}`,
  );

  // A section id with a '-': the server's problem at the field and in the alert, nothing lost.
  form = await openForm(operator, t);
  await eventName(form).fill('Second Try Night');
  await field(form, 'Venue').fill('The Roundhouse');
  const section = form.getByRole('group', { name: 'Section 1', exact: true });
  await field(section, 'ID').fill('1-01');
  await field(section, 'Accessible seats').fill('A2');
  await form.getByRole('button', { name: 'Create event' }).click();
  const alert = operator.getByRole('alert');
  await alert.filter({ hasText: 'did not create the event: 1 problem to fix' }).waitFor();
  await alert
    .getByRole('link', { name: "Section 1, ID may hold only letters, digits and '_'" })
    .waitFor();
  const id_input = field(section, 'ID');
  check(
    (await id_input.getAttribute('aria-invalid')) === 'true',
    'the refused section id is not marked invalid',
  );
  // The problem is the input's description, so a screen reader reads it with the field.
  const described = await id_input.evaluate((input) =>
    input
      .getAttribute('aria-describedby')
      .split(' ')
      .map((ref) => document.getElementById(ref)?.textContent)
      .join(' '),
  );
  check(
    described.includes("ID may hold only letters, digits and '_'."),
    `the section id is described as "${described}"`,
  );
  const kept = {
    name: await eventName(form).inputValue(),
    venue: await field(form, 'Venue').inputValue(),
    id: await id_input.inputValue(),
    accessible: await field(section, 'Accessible seats').inputValue(),
  };
  check(
    JSON.stringify(kept) ===
      JSON.stringify({
        name: 'Second Try Night',
        venue: 'The Roundhouse',
        id: '1-01',
        accessible: 'A2',
      }),
    `after the refusal the form holds ${JSON.stringify(kept)}`,
  );
  check(operator.url().endsWith('/console/events/new'), 'a refused event left the form');
  check((await eventNamed(t, 'Second Try Night')) === undefined, 'a refused event was created');
  await shoot(t, operator, 'form_refused');
  // The alert's link takes the operator to the field, which, corrected, goes through.
  await alert.getByRole('link', { name: /Section 1, ID/ }).click();
  check(
    await id_input.evaluate((input) => input === document.activeElement),
    "the alert's link did not focus the field",
  );
  await id_input.fill('1_01');
  await form.getByRole('button', { name: 'Create event' }).click();
  await operator.waitForURL(kDashboard);
  await operator.getByRole('heading', { level: 1, name: 'Second Try Night' }).waitFor();
  const second = await t.api.expect(200, 'GET', `/v1/events/${operator.url().split('/').pop()}`);
  check(
    second.sections[0].id === '1_01' &&
      second.venue === 'The Roundhouse' &&
      second.seat_count === 200 &&
      JSON.stringify(second.sections[0].rows[0].accessible) === '[2]' &&
      second.price_tiers[0].price_cents === 5000,
    `the corrected event is ${JSON.stringify(second)}`,
  );

  // A JSON file: a broken one is told, a good one is shown, then created as it is.
  form = await openForm(operator, t);
  const upload = operator.getByRole('form', { name: 'Upload an event definition' });
  const file_input = upload.getByLabel('Event definition (JSON)');
  await file_input.setInputFiles(jsonFile('broken.json', '{"name": "Half a file", '));
  await upload.getByRole('alert').filter({ hasText: 'broken.json is not valid JSON' }).waitFor();
  check(
    await upload.getByRole('button', { name: 'Create event' }).isDisabled(),
    'a broken file may be sent',
  );
  await file_input.setInputFiles(jsonFile('hall.json', kUploaded));
  await upload.getByRole('heading', { name: 'hall.json holds' }).waitFor();
  await upload.getByText('Uploaded Hall Night').waitFor();
  await upload.getByText('Stalls (S1): 26 seats, 2 accessible').waitFor();
  await upload.getByText('34, 2 of them accessible').waitFor();
  // Rows of different lengths do not fit the form: it says so and leaves the form alone.
  await upload.getByRole('button', { name: 'Load into the form' }).click();
  await upload.getByRole('status').filter({ hasText: 'The form cannot show this file' }).waitFor();
  check((await eventName(form).inputValue()) === '', 'an unloadable file changed the form');
  await shoot(t, operator, 'upload_read');
  await upload.getByRole('button', { name: 'Create event' }).click();
  await operator.waitForURL(kDashboard);
  await operator.getByRole('heading', { level: 1, name: 'Uploaded Hall Night' }).waitFor();
  const uploaded = await t.api.expect(200, 'GET', `/v1/events/${operator.url().split('/').pop()}`);
  check(
    uploaded.seat_count === 34 &&
      uploaded.venue === 'Small Hall' &&
      uploaded.sections[0].rows[1].seats === 14 &&
      uploaded.queue.max_active === 400,
    `the uploaded event is ${JSON.stringify(uploaded)}`,
  );

  // A setting the form has no field for would be lost on the way: it refuses, and says which.
  form = await openForm(operator, t);
  const with_idle = { ...kLoadable, queue: { enabled: true, idle_release_s: 300 } };
  await file_input.setInputFiles(jsonFile('idle.json', with_idle));
  await upload.getByRole('button', { name: 'Load into the form' }).click();
  await upload
    .getByRole('status')
    .filter({ hasText: 'settings the form has no field for (queue.idle_release_s)' })
    .waitFor();
  check((await eventName(form).inputValue()) === '', 'a file with unknown settings was loaded');

  // A file the form can draw loads into it, to be checked and created from there.
  await file_input.setInputFiles(jsonFile('general.json', kLoadable));
  await upload.getByRole('button', { name: 'Load into the form' }).click();
  await operator.getByRole('status').filter({ hasText: 'Loaded from general.json' }).waitFor();
  const loaded_section = form.getByRole('group', { name: 'Section 1', exact: true });
  const loaded = {
    name: await eventName(form).inputValue(),
    rows: await field(loaded_section, 'Rows').inputValue(),
    seats: await field(loaded_section, 'Seats per row').inputValue(),
    accessible: await field(loaded_section, 'Accessible seats').inputValue(),
    price: await form
      .getByRole('group', { name: 'Price tier 1' })
      .getByLabel(/^Price \(/)
      .inputValue(),
  };
  check(
    JSON.stringify(loaded) ===
      JSON.stringify({
        name: 'Loaded Into The Form',
        rows: '2',
        seats: '6',
        accessible: 'A1-3, A6',
        price: '12.50',
      }),
    `the form loaded ${JSON.stringify(loaded)}`,
  );

  // A viewer key may look, not create: the console says so and nothing is created.
  const viewer = await t.api.expect(201, 'POST', '/v1/operator-keys', {
    token: t.server.admin_key,
    body: { scope: 'viewer', label: 'wall screen' },
  });
  const wall = await t.newFan();
  await signIn(wall, t, viewer.key);
  const wall_form = await openForm(wall, t);
  await eventName(wall_form).fill('Viewer Night');
  await wall_form.getByRole('button', { name: 'Create event' }).click();
  await wall
    .getByRole('alert')
    .filter({ hasText: 'This key may only view the dashboard' })
    .waitFor();
  check((await eventName(wall_form).inputValue()) === 'Viewer Night', 'the refusal lost the name');
  check((await eventNamed(t, 'Viewer Night')) === undefined, 'a viewer key created an event');

  // axe on the form as it first shows, with problems shown, and with a file read; phone and
  // desktop. Its own context: axe is a script the page did not ship, which the policy refuses.
  const failures = [];
  const auditor = await t.newFan({ bypassCSP: true });
  await signIn(auditor, t, t.server.admin_key);
  // Loaded at its own address, which the server answers with the console too.
  await auditor.goto(t.server.url + '/console/events/new');
  await auditor.getByRole('heading', { level: 1, name: 'Create an event' }).waitFor();
  const audited = auditor.getByRole('form', { name: 'Fill in the event' });
  const both = async (where) => {
    for (const [label, viewport] of [
      ['phone', phone],
      ['desktop', desktop],
    ]) {
      await auditor.setViewportSize(viewport);
      await audit(auditor, `${where} (${label})`, failures);
    }
  };
  await both('new event form');
  const audited_section = audited.getByRole('group', { name: 'Section 1', exact: true });
  await field(audited_section, 'Accessible seats').fill('Q9');
  await audited.getByRole('button', { name: 'Create event' }).click();
  await auditor.getByRole('alert').filter({ hasText: 'problem' }).waitFor();
  // The form's own check (no row Q), before anything is sent.
  await auditor
    .getByRole('alert')
    .getByRole('link', { name: /Section 1, Accessible seats names row Q/ })
    .waitFor();
  await both('new event form with problems');
  await auditor
    .getByRole('form', { name: 'Upload an event definition' })
    .getByLabel('Event definition (JSON)')
    .setInputFiles(jsonFile('hall.json', kUploaded));
  await auditor.getByRole('heading', { name: 'hall.json holds' }).waitFor();
  await both('new event upload');
  check(failures.length === 0, `axe found:\n  ${failures.join('\n  ')}`);
});
