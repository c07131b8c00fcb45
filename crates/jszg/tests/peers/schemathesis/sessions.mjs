// Sessions for the authenticated schemathesis runs, against a development-mode jszg at $1:
// a registered applicant with a complete profile, and a staff member signed in with the
// credentials `jszg staff add` printed ($2 username, $3 password). Prints
// {"applicant": "jszg_session=…", "staff": "jszg_staff=…"}.
import assert from 'node:assert/strict';
import { applicant, setIssuer, Browser } from '../sso/applicant.mjs';

const [base, username, password] = process.argv.slice(2);
setIssuer(base);
const { b } = await applicant(false);
const staff = new Browser();
const signIn = await staff.json('/api/v1/staff/sessions', { username, password });
assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
console.log(JSON.stringify({ applicant: b.header(), staff: staff.header() }));
