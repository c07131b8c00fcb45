// The captcha's proof of work (API.md "Captcha") for the Node test clients: the smallest
// decimal nonce such that SHA-256(challenge + nonce) starts with `difficulty` zero bits.
// The page does the same in a Web Worker (static/pow.js).
import { createHash } from 'node:crypto';

export function powNonce(challenge) {
  const { challenge: puzzle, difficulty } = challenge.pow;
  for (let n = 0; ; n++) {
    const h = createHash('sha256').update(puzzle + n).digest();
    let bits = 0;
    for (const b of h) {
      if (b) { bits += Math.clz32(b) - 24; break; }
      bits += 8;
    }
    if (bits >= difficulty) return String(n);
  }
}
