/** A source of uniform numbers in [0, 1). The core never calls Math.random: the caller passes one in. */
export type Rng = () => number;

/**
 * mulberry32: a tiny, fast 32-bit seeded generator (public domain, Tommy Ettinger).
 * Good enough for rotation and tie-breaks, reproducible in tests from its seed.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
