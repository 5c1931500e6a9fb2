// SPDX-License-Identifier: MIT
//
// A seeded pseudo-random number generator for shuffling and augmentation, so that a run can be
// repeated exactly. Not for cryptography.

import { randomBytes } from 'node:crypto';

import { checkInt, checkNumber, rangeError, typeError } from '../validate.js';

/**
 * Maximum array length that `shuffle` accepts. V8 keeps a dense array in one FixedArray of at most 1 GiB,
 * just under 2^27 elements on 64-bit builds, so any longer array is sparse.
 */
const MAX_DENSE_ARRAY_LENGTH = 2 ** 27;

/**
 * splitmix32: a 32-bit mixing step used to expand seeds into generator state. Each call
 * advances `state` by the golden-ratio increment and returns a well-mixed 32-bit value.
 */
function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Seeded generator: xoshiro128** (Blackman and Vigna, 2018), 128 bits of state, period
 * 2^128 - 1, state expanded from the seed with splitmix32.
 *
 * `fork()` splits off an independent generator and advances this one. `derive(key)` returns
 * the generator for a key (an epoch, a sample index) without advancing this one. The same seed
 * and key give the same stream whatever else was drawn before.
 *
 * @example
 * const rng = new Random(42);
 * rng.next();          // a float in [0, 1)
 * rng.int(10);         // an integer in [0, 10)
 * rng.shuffle([1, 2, 3]);
 * const epochRng = rng.derive(3);
 * @see https://prng.di.unimi.it/
 */
export class Random {
  /** The seed this generator was built from (a non-negative safe integer). */
  readonly seed: number;
  readonly #state = new Uint32Array(4);
  /** Key words that `derive` mixes with its key; fixed at construction. */
  readonly #key: [number, number];
  #spareNormal: number | null = null;

  /**
   * @param seed - A non-negative safe integer. Omitted: a random seed from node:crypto,
   *   readable afterwards as `seed`.
   * @throws {TypeError} code `ERR_INVALID_ARG_TYPE` for a non-number seed.
   * @throws {RangeError} code `ERR_OUT_OF_RANGE` for a negative or non-integer seed.
   */
  constructor(seed?: number) {
    if (seed === undefined) seed = randomBytes(6).readUIntLE(0, 6);
    this.seed = checkInt('seed', seed, 0);
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    const mixer = { value: low ^ Math.imul(high, 0x27d4eb2d) };
    for (let i = 0; i < 4; i++) this.#state[i] = splitmix32(mixer);
    if (this.#state.every((word) => word === 0)) this.#state[0] = 1; // The all-zero state is a fixed point.
    this.#key = [splitmix32(mixer), splitmix32(mixer)];
  }

  /** Returns the next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#state;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Returns a float in [0, 1) with 53 random bits. */
  next(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Returns a float in [low, high). */
  uniform(low: number, high: number): number {
    checkNumber('low', low);
    checkNumber('high', high, low);
    return low + (high - low) * this.next();
  }

  /** Returns an integer in [0, n), without modulo bias. */
  int(n: number): number {
    checkInt('n', n, 1, 2 ** 32);
    if (n === 1) return 0;
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % n;
    }
  }

  /** Returns true with probability `p`. */
  bernoulli(p: number): boolean {
    checkNumber('p', p, 0, 1);
    return this.next() < p;
  }

  /** Returns a standard normal sample by Box-Muller. The second value of each pair is kept for the next call. */
  normal(): number {
    if (this.#spareNormal !== null) {
      const spare = this.#spareNormal;
      this.#spareNormal = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /**
   * Shuffles `array` in place (Fisher-Yates) and returns it.
   *
   * @throws RangeError for an array longer than 2^27 elements: such an array is sparse, and
   *   shuffling it would write every index and exhaust the heap.
   */
  shuffle<T>(array: T[]): T[] {
    if (!Array.isArray(array)) throw typeError('array', 'an array', array);
    if (array.length > MAX_DENSE_ARRAY_LENGTH) throw rangeError('array', `an array of at most ${MAX_DENSE_ARRAY_LENGTH} elements`, array);
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = array[i]!;
      array[i] = array[j]!;
      array[j] = swap;
    }
    return array;
  }

  /** Returns a new generator seeded from this one's next outputs, advancing this one. */
  fork(): Random {
    return new Random(this.nextUint32() + (this.nextUint32() & 0x1fffff) * 2 ** 32);
  }

  /**
   * Returns the generator for `key`, a function of this generator's seed and `key` only. Calling
   * it again with the same key gives the same stream, and this generator does not advance.
   *
   * @param key - A non-negative safe integer, such as an epoch or a sample index.
   */
  derive(key: number): Random {
    checkInt('key', key, 0);
    const mixer = { value: this.#key[0] ^ (key >>> 0) };
    const low = splitmix32(mixer) ^ this.#key[1];
    mixer.value ^= Math.floor(key / 2 ** 32) >>> 0;
    const high = splitmix32(mixer) & 0x1fffff;
    return new Random((low >>> 0) + high * 2 ** 32);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
