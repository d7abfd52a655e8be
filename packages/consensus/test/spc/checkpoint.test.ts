/**
 * Checkpoints: a run stopped after round 1 and resumed from its directory ends exactly where an uninterrupted run
 * ends (same seed, same labels, same agreement history), without pretraining again; a directory holding another
 * run is refused.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@dc/core';
import { fitSpc, type SpcOptions, type SpcProgress } from '@dc/consensus';
import { CheckpointError } from '@dc/nn';
import { SMALL_SCHEDULE, syntheticImages } from './synthetic';

const { images } = syntheticImages(480, 4, 16, 3);
const OPTIONS: SpcOptions = { ...SMALL_SCHEDULE, nClusters: 4, pretrainEpochs: 2, patience: 2, seed: 7, umap: { nNeighbors: 15, epochs: 150 } };

describe('fitSpc checkpoints', () => {
  const root = mkdtempSync(join(tmpdir(), 'spc-ckpt-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('resumes a stopped run to the same result as an uninterrupted one', async () => {
    const whole = await fitSpc(images, { ...OPTIONS, checkpointDir: join(root, 'a') });
    expect(whole.history).toHaveLength(3);

    const dir = join(root, 'b');
    const first = await fitSpc(images, { ...OPTIONS, maxRounds: 1, checkpointDir: dir });
    expect(first.history).toHaveLength(2);
    const files = readdirSync(dir);
    expect(files).toContain('spc.json');
    // Each member's training state (after round 1's training) and the best round's snapshot.
    expect(files.filter((f) => /^member\d\.ckpt$/.test(f))).toHaveLength(2);
    expect(files.filter((f) => /^best\d+-member\d\.ckpt$/.test(f))).toHaveLength(2);

    const events: SpcProgress[] = [];
    const resumed = await fitSpc(images, { ...OPTIONS, checkpointDir: dir, onProgress: (e) => events.push(e) });
    // Only round 2 ran: no pretraining, no round-0 or round-1 work.
    expect(events.some((e) => e.stage === 'pretrain')).toBe(false);
    expect(new Set(events.map((e) => e.round))).toEqual(new Set([2]));
    expect(resumed.agreementHistory).toEqual(whole.agreementHistory);
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(whole.history.map((h) => h.trainLoss));
    expect(resumed.bestRound).toBe(whole.bestRound);
    expect(Array.from(resumed.labels)).toEqual(Array.from(whole.labels));
    const [a, b] = [await whole.predict(images.rows(0, 50)), await resumed.predict(images.rows(0, 50))];
    expect(Array.from(b.probabilities.data)).toEqual(Array.from(a.probabilities.data));
  }, 240_000);

  it('refuses a directory that holds a run with other options', async () => {
    const dir = join(root, 'b');
    await expect(fitSpc(images, { ...OPTIONS, seed: 8, checkpointDir: dir })).rejects.toThrow(InvalidInputError);
    await expect(fitSpc(images, { ...OPTIONS, seed: 8, checkpointDir: dir })).rejects.toThrow(/holds a run on other images or with other options/);
  });

  it('stops the other workers when a member fails, and starts no other member', async () => {
    const dir = join(root, 'd');
    const options: SpcOptions = { ...OPTIONS, ensembleSize: 3, epochs: 4, workers: 2, checkpointDir: dir };
    await fitSpc(images, { ...options, maxRounds: 1 });
    // Member 1 cannot resume round 2 from a damaged training checkpoint while member 0 trains in the other worker;
    // member 2, next in line for that worker, must not start.
    writeFileSync(join(dir, 'member1.ckpt'), 'not a checkpoint');
    const member2 = statSync(join(dir, 'member2.ckpt')).mtimeMs;
    const error = await fitSpc(images, { ...options, maxRounds: 2 }).catch((e: unknown) => e);
    expect(CheckpointError.isInstance(error)).toBe(true);
    const member0 = statSync(join(dir, 'member0.ckpt')).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(statSync(join(dir, 'member0.ckpt')).mtimeMs).toBe(member0);
    expect(statSync(join(dir, 'member2.ckpt')).mtimeMs).toBe(member2);
  }, 240_000);

  it('refuses a damaged or foreign run file', async () => {
    const dir = join(root, 'c');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'spc.json'), '{ not json');
    await expect(fitSpc(images, { ...OPTIONS, checkpointDir: dir })).rejects.toThrow(/is not valid JSON/);
    writeFileSync(join(dir, 'spc.json'), '{"format": "something else"}');
    await expect(fitSpc(images, { ...OPTIONS, checkpointDir: dir })).rejects.toThrow(/is not an SPC run file/);
  });
});
