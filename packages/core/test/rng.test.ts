import { InvalidOptionError, Rng, createRng } from "@dc/core";

describe("Rng (xoshiro128**)", () => {
  it("produces the same sequence for the same seed and different ones for different seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    const sb = Array.from({ length: 100 }, () => b.nextUint32());
    const sc = Array.from({ length: 100 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(sa.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(
      true
    );
  });

  it("is pinned to a known sequence (same on every platform)", () => {
    // Any change to the generator or seeding breaks reproducibility of every trained model: keep this fixed.
    const r = new Rng(0);
    const first = Array.from({ length: 4 }, () => r.nextUint32());
    expect(first).toMatchInlineSnapshot(`
      [
        1789933344,
        44971166,
        2521387044,
        3848737593,
      ]
    `);
    expect(createRng(12345).uniform()).toMatchInlineSnapshot(
      `0.25454781239677515`
    );
  });

  it("matches the xoshiro128** reference step on a known state", () => {
    // Reference: state {1, 2, 3, 4} gives 11520 as the first output of xoshiro128** 1.0.
    const r = Rng.fromState({ s: [1, 2, 3, 4], spareNormal: null });
    expect(r.nextUint32()).toBe(11520);
    expect(r.nextUint32()).toBe(0);
    expect(r.nextUint32()).toBe(5927040);
  });

  it("uniform has the right mean and variance and stays in range", () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
    }
    const mean = s / n;
    expect(outside).toBe(0);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(s2 / n - mean * mean).toBeCloseTo(1 / 12, 2);
    const v = r.uniform(-3, 5);
    expect(v >= -3 && v < 5).toBe(true);
  });

  it("normal has mean 0 and variance 1, and honours mean/std", () => {
    const r = new Rng(2);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(s / n).toBeCloseTo(0, 2);
    expect(s2 / n).toBeCloseTo(1, 1);
    const arr = r.fillNormal(new Float64Array(50_000), 10, 2);
    const m = arr.reduce((a, b) => a + b, 0) / arr.length;
    expect(m).toBeCloseTo(10, 1);
  });

  it("int is unbiased over its range", () => {
    const r = new Rng(3);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    const draws = Array.from({ length: 1000 }, () => r.int(-5, 5));
    expect(Math.min(...draws)).toBe(-5);
    expect(Math.max(...draws)).toBe(4);
    expect(() => r.int(0)).toThrow(InvalidOptionError);
    expect(() => r.int(2.5)).toThrow(InvalidOptionError);
  });

  it("Beta(alpha, alpha) has the right mean and variance", () => {
    const r = new Rng(4);
    for (const alpha of [0.5, 0.75, 2]) {
      const n = 50_000;
      let s = 0;
      let s2 = 0;
      let outside = 0;
      for (let i = 0; i < n; i++) {
        const b = r.beta(alpha);
        if (!(b >= 0 && b <= 1)) outside++;
        s += b;
        s2 += b * b;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      expect(outside).toBe(0);
      expect(mean).toBeCloseTo(0.5, 2);
      // Var of Beta(a, a) = 1 / (4 (2a + 1))
      expect(variance).toBeCloseTo(1 / (4 * (2 * alpha + 1)), 2);
    }
    expect(() => r.gamma(0)).toThrow(InvalidOptionError);
  });

  it("shuffle and permutation give permutations; choice gives distinct values", () => {
    const r = new Rng(5);
    const p = r.permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i)
    );
    const arr = [1, 2, 3, 4, 5];
    r.shuffle(arr);
    expect([...arr].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const [n, k] of [
      [1000, 10],
      [50, 40],
      [5, 5],
      [5, 0],
    ] as const) {
      const ch = r.choice(n, k);
      expect(ch.length).toBe(k);
      expect(new Set(ch).size).toBe(k);
      expect([...ch].every((v) => v >= 0 && v < n)).toBe(true);
    }
    expect(() => r.choice(5, 6)).toThrow(InvalidOptionError);
  });

  it("choice draws every element with equal probability", () => {
    const r = new Rng(6);
    const counts = new Array(20).fill(0);
    for (let t = 0; t < 20_000; t++)
      for (const v of r.choice(20, 3)) counts[v]++;
    for (const c of counts) expect(Math.abs(c - 3000)).toBeLessThan(250);
  });

  it("forks independent, reproducible streams", () => {
    const a = new Rng(7);
    const [x, y] = a.split(2);
    const b = new Rng(7);
    const [x2] = b.split(1);
    const sx = Array.from({ length: 20 }, () => x!.nextUint32());
    const sy = Array.from({ length: 20 }, () => y!.nextUint32());
    expect(sx).toEqual(Array.from({ length: 20 }, () => x2!.nextUint32()));
    expect(sx).not.toEqual(sy);
  });

  it("saves and restores its state exactly, including a cached normal", () => {
    const r = new Rng(8);
    r.normal();
    const state = r.getState();
    const expected = [r.normal(), r.uniform(), r.nextUint32()];
    const restored = Rng.fromState(JSON.parse(JSON.stringify(state)));
    expect([
      restored.normal(),
      restored.uniform(),
      restored.nextUint32(),
    ]).toEqual(expected);
  });

  it("rejects invalid seeds", () => {
    expect(() => new Rng(-1)).toThrow(InvalidOptionError);
    expect(() => new Rng(1.5)).toThrow(InvalidOptionError);
    expect(() => new Rng(2 ** 53)).toThrow(InvalidOptionError);
    expect(new Rng(2 ** 53 - 1).nextUint32()).toEqual(expect.any(Number));
  });
});
