import { canonicalIntegerValue } from './canonical';

const EXACT_DISTINCT_CAP = 4096;
/** Integers -2^15 to 2^15-1, counted while exact in a bit set of 8 KiB. */
const SMALL_INTEGERS = 1 << 16;
const HLL_BITS = 12;

/**
 * Counts distinct values exactly while few, then as a HyperLogLog sketch of 4 KiB, so a column
 * of millions of unique ids costs no more memory than one of a handful of labels.
 */
export class DistinctCounter {
  private exact: Set<string | number | boolean> | null = new Set();
  /** Canonical integer texts ('42', not '042' or '+42') as their values: a number hashes and
   * compares much faster than a string, and each such text has its own number. */
  private integers = new Set<number>();
  /** Those within ±2^15 as bits instead, which cost less to test than a Set lookup. */
  private small: Uint32Array | null = null;
  private smallCount = 0;
  private registers: Uint8Array | null = null;

  add(value: string | number | boolean): void {
    const integer = typeof value === 'string' ? canonicalIntegerValue(value) : Number.NaN;
    if (Number.isNaN(integer)) this.addOther(value);
    else this.addInteger(integer, value as string);
  }

  /** Adds canonical integer text already read as `integer` (`canonicalIntegerValue(text)`). */
  addInteger(integer: number, text: string): void {
    const exact = this.exact;
    if (exact === null) {
      this.addHash(hashOf(text));
      return;
    }
    const bit = integer + SMALL_INTEGERS / 2;
    if (bit >= 0 && bit < SMALL_INTEGERS) {
      this.small ??= new Uint32Array(SMALL_INTEGERS / 32);
      const small = this.small;
      const word = small[bit >>> 5]!;
      const mask = 1 << (bit & 31);
      if ((word & mask) !== 0) return;
      small[bit >>> 5] = word | mask;
      this.smallCount++;
    } else this.integers.add(integer);
    if (this.exactSize > EXACT_DISTINCT_CAP) this.toSketch(exact);
  }

  /** Adds a value known not to be canonical integer text. */
  addOther(value: string | number | boolean): void {
    const exact = this.exact;
    if (exact === null) {
      this.addHash(hashOf(value));
      return;
    }
    exact.add(value);
    if (this.exactSize > EXACT_DISTINCT_CAP) this.toSketch(exact);
  }

  private get exactSize(): number {
    return this.exact!.size + this.integers.size + this.smallCount;
  }

  get count(): number {
    if (this.exact !== null) return this.exactSize;
    const registers = this.registers!;
    const m = registers.length;
    let sum = 0;
    let zeros = 0;
    for (let j = 0; j < m; j++) {
      const r = registers[j]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    // Linear counting is the more accurate estimate while many registers are still empty.
    return Math.round(raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw);
  }

  private toSketch(values: Set<string | number | boolean>): void {
    this.exact = null;
    this.registers = new Uint8Array(1 << HLL_BITS);
    for (const value of values) this.addHash(hashOf(value));
    for (const integer of this.integers) this.addHash(hashOf(`${integer}`));
    this.integers.clear();
    const small = this.small;
    if (small !== null) {
      for (let bit = 0; bit < SMALL_INTEGERS; bit++) {
        if ((small[bit >>> 5]! & (1 << (bit & 31))) !== 0) {
          this.addHash(hashOf(`${bit - SMALL_INTEGERS / 2}`));
        }
      }
      this.small = null;
      this.smallCount = 0;
    }
  }

  private addHash(hash: number): void {
    const index = hash >>> (32 - HLL_BITS);
    const rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
    const rank = Math.clz32(rest) + 1;
    const registers = this.registers!;
    if (rank > registers[index]!) registers[index] = rank;
  }
}

const numberBits = new Float64Array(1);
const numberWords = new Uint32Array(numberBits.buffer);

/** 32-bit FNV-1a, finished with murmur3's avalanche so every bit of the result is usable. */
function hashOf(value: string | number | boolean): number {
  let h = 0x811c9dc5;
  if (typeof value === 'string') {
    for (let k = 0; k < value.length; k++) h = Math.imul(h ^ value.charCodeAt(k), 0x01000193);
  } else if (typeof value === 'number') {
    numberBits[0] = value;
    h = Math.imul(h ^ numberWords[0]!, 0x01000193);
    h = Math.imul(h ^ numberWords[1]!, 0x01000193);
  } else {
    h = value ? 0x9e3779b9 : 0x85ebca6b;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
