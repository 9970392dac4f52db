// docs/openapi.yaml as other people's tools read it: Redocly's linter with its recommended rules
// (docs/redocly.yaml) must find no error and no warning. The few things it would flag that are
// right as they are sit in docs/.redocly.lint-ignore.yaml, each with its reason.

import { join } from 'node:path';

import { repo_root } from '../browser/harness.mjs';
import { redocly } from './redocly.mjs';

let output;
try {
  output = redocly([
    'lint',
    join(repo_root, 'docs/openapi.yaml'),
    '--config',
    join(repo_root, 'docs/redocly.yaml'),
    '--format',
    'json',
  ]);
} catch (error) {
  // Errors make the linter exit non-zero; its report is on stdout all the same.
  output = error.stdout ?? '';
}
const report = JSON.parse(output);
const { errors, warnings } = report.totals;
for (const problem of report.problems) {
  const where = problem.location?.[0]?.pointer ?? '';
  console.error(`  ${problem.severity} ${problem.ruleId} ${where}: ${problem.message}`);
}
if (errors > 0 || warnings > 0) {
  console.error(`lint: FAIL: ${errors} errors, ${warnings} warnings in docs/openapi.yaml`);
  process.exit(1);
}
console.log(`lint: ok (docs/openapi.yaml: no error, no warning; ${report.totals.ignored} ignored)`);
