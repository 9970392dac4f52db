// boxoffice's proof of work, solved by ALTCHA's own library (altcha-lib, a dev dependency of
// web/): a queue join on an event whose challenge is `always` is refused with both formats in
// the refusal, altcha-lib's v1 solver and its current (v2) solver each answer one, the server
// takes each once and refuses each replay; GET /v1/challenge?format=2 serves v2 as well.

import { createRequire } from 'node:module';
import { join } from 'node:path';

import { apiClient, check, repo_root, smallEvent, startServer } from '../browser/harness.mjs';

const require = createRequire(join(repo_root, 'web/package.json'));
const altcha_v1 = require('altcha-lib/v1');
const altcha_v2 = require('altcha-lib');
const { deriveKey: sha } = require('altcha-lib/algorithms/sha');

const base64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64');

/** The X-Altcha header for a v1 challenge, as the widget writes it. */
async function solveV1(challenge) {
  const { promise } = altcha_v1.solveChallenge(
    challenge.challenge,
    challenge.salt,
    challenge.algorithm,
    challenge.maxnumber,
  );
  const solution = await promise;
  check(solution, 'altcha-lib v1 found no number');
  const { algorithm, challenge: hash, salt, signature } = challenge;
  return base64({ algorithm, challenge: hash, number: solution.number, salt, signature });
}

/** The X-Altcha header for a v2 challenge: the challenge and the solution altcha-lib found. */
async function solveV2(challenge) {
  const solution = await altcha_v2.solveChallenge({ challenge, deriveKey: sha });
  check(solution, 'altcha-lib v2 found no counter');
  return base64({ challenge, solution });
}

async function main() {
  const server = await startServer();
  try {
    await exercise(server);
  } catch (error) {
    console.error(`altcha: FAIL: ${error.stack ?? error}\n${server.stderr().slice(-2000)}`);
    process.exitCode = 1;
  } finally {
    await server.stop();
  }
  if (!process.exitCode) console.log('altcha: ok (v1 and v2 solved by altcha-lib, replays refused)');
}

async function exercise(server) {
  const { call } = apiClient(server);
  const created = await call('POST', '/v1/events', {
    token: server.admin_key,
    body: smallEvent({ name: 'Challenge Night', defense: { challenge: 'always' } }),
  });
  check(created.status === 201, `event: ${created.status}`);
  const join = `/v1/events/${created.body.id}/queue`;
  const session = async () => (await call('POST', '/v1/sessions', { body: {} })).body.session_token;

  /** A join with `x_altcha`, by a new fan: the answer. */
  const joinWith = async (x_altcha) =>
    call('POST', join, { token: await session(), headers: x_altcha ? { 'X-Altcha': x_altcha } : {} });

  const refused = await joinWith(null);
  check(
    refused.status === 403 && refused.body.error.code === 'challenge_required',
    `a join without a solution: ${refused.status} ${JSON.stringify(refused.body)}`,
  );
  const { challenge, challenge_v2 } = refused.body.error.details;
  check(challenge.maxnumber > 0 && challenge_v2?.parameters?.nonce, 'the refusal lacks a format');

  for (const [format, header] of [
    ['v1', await solveV1(challenge)],
    ['v2', await solveV2(challenge_v2)],
  ]) {
    const admitted = await joinWith(header);
    check(admitted.status === 201, `${format}: ${admitted.status} ${JSON.stringify(admitted.body)}`);
    const replayed = await joinWith(header);
    check(
      replayed.status === 403 && replayed.body.error.details.reason === 'replayed',
      `${format} replayed: ${replayed.status} ${JSON.stringify(replayed.body)}`,
    );
  }

  const fetched = await call('GET', '/v1/challenge?format=2');
  check(fetched.status === 200 && fetched.body.parameters, `format=2: ${fetched.status}`);
  const admitted = await joinWith(await solveV2(fetched.body));
  check(admitted.status === 201, `GET /v1/challenge?format=2, solved: ${admitted.status}`);
  const v1 = await call('GET', '/v1/challenge');
  check(v1.status === 200 && v1.body.maxnumber > 0, 'GET /v1/challenge is v1 by default');
  const unknown = await call('GET', '/v1/challenge?format=3');
  check(unknown.status === 400, `format=3: ${unknown.status}`);
}

await main();
