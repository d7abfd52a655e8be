/**
 * Every RandAugment operation against PIL itself: fixtures/pil_ops.json holds PIL 9.4's outputs on small grey
 * and RGB images (generator: fixtures/pil_ops.py). Our operations must reproduce them byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyOp, type RandAugmentOp } from '../src/index.js';

interface Fixture {
  pil: string;
  images: Record<string, { c: number; h: number; w: number; data: string }>;
  cases: { image: string; op: RandAugmentOp; param: number | null; expected: string }[];
}

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'pil_ops.json'), 'utf8')) as Fixture;

describe(`RandAugment operations match PIL ${fixture.pil} exactly`, () => {
  it('covers all 13 non-identity operations on grey and RGB images', () => {
    expect(new Set(fixture.cases.map((c) => c.op)).size).toBe(13);
    expect(new Set(Object.values(fixture.images).map((i) => i.c))).toEqual(new Set([1, 3]));
  });

  it.each(fixture.cases.map((c) => [c.op, c.param, c.image, c] as const))('%s(%p) on %s', (op, param, name, c) => {
    const img = fixture.images[name]!;
    const src = new Uint8Array(Buffer.from(img.data, 'base64'));
    const expected = new Uint8Array(Buffer.from(c.expected, 'base64'));
    const dst = new Uint8Array(src.length);
    // The fixture's translations are in pixels; applyOp takes a fraction of the side.
    const p = op === 'TranslateX' ? param! / img.w : op === 'TranslateY' ? param! / img.h : (param ?? 0);
    applyOp(op, src, dst, img.c, img.h, img.w, p);
    expect(Buffer.from(dst).equals(Buffer.from(expected))).toBe(true);
  });
});
