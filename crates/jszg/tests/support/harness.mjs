// The quotas raised for test harnesses that register many applicants from one address
// (API.md "Abuse limits"), read from harness.env beside this file. Tests of the quotas
// themselves start their server with the defaults.
import { readFileSync } from 'node:fs';

export const HARNESS_ENV = Object.fromEntries(
  readFileSync(new URL('./harness.env', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('=')),
);
