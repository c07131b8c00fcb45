/* jszg captcha proof of work (API.md "Captcha"), run as a Web Worker by captcha.js while the
 * applicant looks at the picture.
 *
 *   worker.postMessage({ challenge: "…", difficulty: 14 })
 *   → { nonce: "12345", hashes: 12346, ms: 41 }
 *
 * Finds the smallest decimal nonce such that SHA-256(challenge + nonce) starts with `difficulty`
 * zero bits. Plain SHA-256 on bytes (no SubtleCrypto: its per-call promise costs more than a
 * short hash), ASCII input only, which the server's challenge strings are.
 */
(function () {
  'use strict';

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Int32Array(64);
  var H = new Int32Array(8);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  /* SHA-256 of `len` bytes already padded in `blk` (a multiple of 64 bytes); digest words in H. */
  function sha256(blk, blocks) {
    H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
    H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
    for (var blkI = 0; blkI < blocks; blkI++) {
      var off = blkI * 64, i;
      for (i = 0; i < 16; i++) {
        var q = off + i * 4;
        W[i] = (blk[q] << 24) | (blk[q + 1] << 16) | (blk[q + 2] << 8) | blk[q + 3];
      }
      for (i = 16; i < 64; i++) {
        var w15 = W[i - 15], w2 = W[i - 2];
        var s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
        var s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      var a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (i = 0; i < 64; i++) {
        var S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        var t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        var S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        var t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + bb) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
      H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
  }

  function zeroBits() {
    for (var i = 0; i < 8; i++) {
      if (H[i] !== 0) return i * 32 + Math.clz32(H[i]);
    }
    return 256;
  }

  /* Pad `len` message bytes in `blk` (SHA-256: 0x80, zeros, 64-bit bit length); block count. */
  function pad(blk, len) {
    var blocks = (len + 9 + 63) >> 6, end = blocks * 64;
    blk[len] = 0x80;
    for (var p = len + 1; p < end - 4; p++) blk[p] = 0;
    var bits = len * 8;
    blk[end - 4] = (bits >>> 24) & 0xff; blk[end - 3] = (bits >>> 16) & 0xff;
    blk[end - 2] = (bits >>> 8) & 0xff; blk[end - 1] = bits & 0xff;
    return blocks;
  }

  function solve(challenge, difficulty) {
    var start = challenge.length;
    var blk = new Uint8Array(((start + 20 + 9 + 63) >> 6) * 64);
    for (var i = 0; i < start; i++) blk[i] = challenge.charCodeAt(i) & 0xff;
    // The nonce as decimal digits counted up in place: "0", "1", … "9", "10", …
    var digits = 1, blocks = 0;
    blk[start] = 48;
    blocks = pad(blk, start + 1);
    for (var n = 0; digits <= 16; n++) {
      sha256(blk, blocks);
      if (zeroBits() >= difficulty) {
        var s = '';
        for (var k = 0; k < digits; k++) s += String.fromCharCode(blk[start + k]);
        return { nonce: s, hashes: n + 1 };
      }
      var at = start + digits - 1;
      while (at >= start && blk[at] === 57) { blk[at] = 48; at--; }
      if (at >= start) {
        blk[at]++;
      } else {
        // 9…9 became 0…0: one more digit, "10…0".
        blk[start] = 49;
        blk[start + digits] = 48;
        digits++;
        blocks = pad(blk, start + digits);
      }
    }
    return null;
  }

  var api = { solve: solve };
  if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
    self.onmessage = function (e) {
      var t0 = Date.now();
      var found = solve(String(e.data.challenge || ''), Number(e.data.difficulty) || 0);
      self.postMessage({ nonce: found && found.nonce, hashes: found && found.hashes, ms: Date.now() - t0 });
    };
  } else {
    self.JszgPow = api;
  }
})();
