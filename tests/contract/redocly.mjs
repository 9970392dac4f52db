// How the contract tests run Redocly's CLI (a dev dependency of web/): with its usage telemetry
// off and without asking the npm registry for a newer version, so a test sends nothing anywhere.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { repo_root } from '../browser/harness.mjs';

export const redoclyQuiet = { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };

const require = createRequire(join(repo_root, 'web/package.json'));

/** Runs `redocly <args>` and returns its stdout; throws (with .stdout) when it exits non-zero. */
export function redocly(args) {
  return execFileSync(process.execPath, [require.resolve('@redocly/cli/bin/cli.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...redoclyQuiet },
  });
}
