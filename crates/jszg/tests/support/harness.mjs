// The quotas raised for test harnesses that register many applicants from one address
// (API.md "Abuse limits"), read from harness.env beside this file. Tests of the quotas
// themselves start their server with the defaults.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const HARNESS_ENV = Object.fromEntries(
  readFileSync(new URL('./harness.env', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('=')),
);

/** A TCP port free on 127.0.0.1 at the moment of asking, for a server a test starts. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
    s.on('error', fail);
  });
}
