// SHA-256 in plain JavaScript, for two cases crypto.subtle does not cover: pages served over plain
// HTTP on a non-loopback address (browsers withhold crypto.subtle outside secure contexts), and
// files too large to hold in memory at once (crypto.subtle.digest only takes one whole buffer).
// Sha256 is incremental: update() it with consecutive pieces (File.slice chunks), then digest().

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

/** Incremental SHA-256: ``update(bytes)`` any number of times, then ``digest()`` once. */
export class Sha256 {
  constructor() {
    this.state = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    this.w = new Uint32Array(64); // the message schedule, reused for every block
    this.pending = new Uint8Array(64); // the bytes of an unfinished block
    this.used = 0; // how many of them are filled
    this.length = 0; // bytes hashed so far
  }

  /** Hash the next piece of the message (a Uint8Array or an ArrayBuffer); returns this. */
  update(input) {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    this.length += bytes.length;
    let offset = 0;
    if (this.used > 0) {
      const take = Math.min(64 - this.used, bytes.length);
      this.pending.set(bytes.subarray(0, take), this.used);
      this.used += take;
      offset = take;
      if (this.used < 64) return this;
      this.block(this.pending, 0);
      this.used = 0;
    }
    for (; offset + 64 <= bytes.length; offset += 64) this.block(bytes, offset);
    this.pending.set(bytes.subarray(offset), 0);
    this.used = bytes.length - offset;
    return this;
  }

  /** The digest of everything update() was given, as an ArrayBuffer like crypto.subtle's. */
  digest() {
    const bits = this.length * 8;
    const tail = new Uint8Array(this.used < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.used));
    tail[this.used] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    for (let offset = 0; offset < tail.length; offset += 64) this.block(tail, offset);
    const out = new DataView(new ArrayBuffer(32));
    this.state.forEach((value, i) => out.setUint32(i * 4, value));
    return out.buffer;
  }

  /** Compress the 64-byte block of ``bytes`` that starts at ``offset`` into the state. */
  block(bytes, offset) {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const at = offset + i * 4;
      w[i] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const state = this.state;
    let a = state[0], b = state[1], c = state[2], d = state[3];
    let e = state[4], f = state[5], g = state[6], h = state[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
  }
}

/** The SHA-256 digest of ``bytes`` (a Uint8Array), as an ArrayBuffer like crypto.subtle's. */
export function sha256(bytes) {
  return new Sha256().update(bytes).digest();
}

/** The SHA-256 of a Blob (a File), read ``chunk`` bytes at a time so that no more than one chunk
 * is in memory; ``onProgress(bytesDone)`` after each chunk. */
export async function sha256Blob(blob, chunk = 8 * 1024 * 1024, onProgress = () => {}) {
  const hash = new Sha256();
  for (let start = 0; start < blob.size; start += chunk) {
    hash.update(new Uint8Array(await blob.slice(start, start + chunk).arrayBuffer()));
    onProgress(Math.min(start + chunk, blob.size));
  }
  return hash.digest();
}
