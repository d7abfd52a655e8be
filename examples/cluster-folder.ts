/**
 * `npm run cluster-folder -w examples -- <folder> --clusters K`: clusters your own images, no labels needed.
 *
 * Reads every JPEG/PNG/WebP image in the folder (or in its sub-folders, one per class, which are then used only to
 * score the result), resizes them to one size and runs SPC (`fitSpc` from `@dc/consensus`). Writes, to `--out` (default
 * examples/output/<folder name>/):
 * - `clusters.csv`: one row per image: file, cluster, confidence (the ensemble's probability of that cluster),
 *   and whether every SPC vote agreed on it;
 * - `cluster-<k>.png`: a contact sheet per cluster, its most confident images first, to see what each cluster
 *   holds;
 * - `summary.json`: the options, cluster sizes, SPC's per-round agreement and, with class sub-folders, ACC/NMI/ARI.
 *
 * The schedule defaults to the demo's (3 autoencoders, 12 pretraining epochs, up to 5 rounds of 6 epochs): a few
 * minutes for 10,000 small images on two CPU cores. Run with --help for every flag.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { fitSpc, type SpcOptions } from '@dc/consensus';
import { loadImageFolder, type ImageDataset } from '@dc/data';
import { evaluateClustering } from '@dc/metrics';
import { parseCommandLine } from './command-line.js';

const USAGE = `usage: cluster-folder.ts <folder> --clusters K [options]

  --clusters K          number of clusters (required)
  --size N              resize every image to N x N pixels, cropping to a square (default 28)
  --colour              keep three colour channels (default: grey)
  --autoencoders N      SPC ensemble size (default 3)
  --pretrain-epochs N   autoencoder pretraining epochs (default 12)
  --epochs N            training epochs per SPC round (default 6)
  --rounds N            SPC rounds at most (default 5)
  --seed N              seed of every random choice (default 0)
  --out DIR             output folder (default examples/output/<folder name>)
  --sheet N             images per contact sheet (default 64)`;

interface Args {
  folder: string;
  clusters: number;
  size: number;
  colour: boolean;
  autoencoders: number;
  pretrainEpochs: number;
  epochs: number;
  rounds: number;
  seed: number;
  out: string;
  sheet: number;
}

/** Parses the command line; a missing folder, a bad number or an unknown flag is an error with the usage. */
function readCommandLine(argv: readonly string[]): Args | 'help' {
  const cl = parseCommandLine(argv, {
    clusters: { type: 'string' },
    size: { type: 'string', default: '28' },
    colour: { type: 'boolean', default: false },
    autoencoders: { type: 'string', default: '3' },
    'pretrain-epochs': { type: 'string', default: '12' },
    epochs: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
    sheet: { type: 'string', default: '64' },
    help: { type: 'boolean', short: 'h', default: false },
  }, USAGE);
  if (cl.values.help) return 'help';
  if (cl.positionals.length !== 1) throw cl.fail(`expected one image folder, got ${cl.positionals.length}`);
  const folder = resolve(cl.positionals[0]!);
  return {
    folder,
    clusters: cl.int('clusters', 2),
    size: cl.int('size', 8),
    colour: cl.values.colour === true,
    autoencoders: cl.int('autoencoders', 1),
    pretrainEpochs: cl.int('pretrain-epochs', 1),
    epochs: cl.int('epochs', 1),
    rounds: cl.int('rounds', 0),
    seed: cl.int('seed', 0),
    out: resolve((cl.values.out as string | undefined) ?? fileURLToPath(new URL(`./output/${basename(folder)}/`, import.meta.url))),
    sheet: cl.int('sheet', 1),
  };
}

/** SPC's options for the command line's schedule. */
function spcOptions(args: Args): SpcOptions {
  return {
    nClusters: args.clusters,
    ensembleSize: args.autoencoders,
    pretrainEpochs: args.pretrainEpochs,
    epochs: args.epochs,
    maxRounds: args.rounds,
    patience: 2,
    learningRate: 5e-3,
    // The members' concatenated codes vote too (the paper's Section 5.2); it steadies small datasets (examples README).
    concatenatedMember: args.autoencoders > 1,
    seed: args.seed,
  };
}

async function main(): Promise<void> {
  const parsed = readCommandLine(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const args = parsed;
  const t0 = performance.now();
  const dataset = await loadImageFolder(args.folder, { size: args.size, channels: args.colour ? 3 : 1 });
  console.log(`${dataset.length} images from ${args.folder}, resized to ${args.size}x${args.size} ${args.colour ? 'colour' : 'grey'}`);

  const options = spcOptions(args);
  console.log(`SPC: ${options.ensembleSize} autoencoders, ${options.pretrainEpochs} pretraining epochs, up to ${options.maxRounds} rounds of ${options.epochs} epochs`);
  const spc = await fitSpc(dataset, {
    ...options,
    onRound: ({ record }) => console.log(`  round ${record.round}: ${record.agreed} of ${dataset.length} images agreed (${(100 * record.fraction).toFixed(1)}%), ${record.seconds.toFixed(0)} s`),
  });
  const { labels, agreed } = spc;
  const { probabilities } = await spc.predict(dataset);
  // The ensemble's probability of each image's consensus cluster.
  const confidence = Float32Array.from(labels, (k, i) => probabilities.data[i * args.clusters + k]!);
  await spc.dispose();

  await mkdir(args.out, { recursive: true });
  const csv = ['file,cluster,confidence,agreed'];
  for (let i = 0; i < dataset.length; i++) {
    csv.push(`${csvField(relative(args.folder, dataset.sources[i]!))},${labels[i]},${confidence[i]!.toFixed(4)},${agreed[i]}`);
  }
  await writeFile(join(args.out, 'clusters.csv'), `${csv.join('\n')}\n`);

  const sizes = Array.from({ length: args.clusters }, (_, k) => labels.reduce((n, l) => n + (l === k ? 1 : 0), 0));
  for (let k = 0; k < args.clusters; k++) {
    const members = [...labels.keys()].filter((i) => labels[i] === k).sort((a, b) => confidence[b]! - confidence[a]! || a - b);
    await contactSheet(dataset, members.slice(0, args.sheet), join(args.out, `cluster-${k}.png`));
  }

  // Scoring, only when the folder names the classes: the one place ground truth is read.
  const scored = dataset.labels ? evaluateClustering(labels, dataset.labels) : null;
  await writeFile(join(args.out, 'summary.json'), `${JSON.stringify({
    folder: args.folder,
    images: dataset.length,
    options: { ...options, size: args.size, colour: args.colour },
    clusterSizes: sizes,
    spcRounds: spc.history.map(({ round, agreed, fraction }) => ({ round, agreed, fraction })),
    bestRound: spc.bestRound,
    ...(scored ? { evaluation: { accuracy: scored.accuracy, nmi: scored.nmi, ari: scored.ari, classNames: dataset.classNames } } : {}),
  }, null, 1)}\n`);

  console.log(`\nfinished in ${((performance.now() - t0) / 60_000).toFixed(1)} min; cluster sizes ${sizes.join(', ')}`);
  if (scored) console.log(`against the sub-folder names: ACC ${(100 * scored.accuracy).toFixed(2)}, NMI ${(100 * scored.nmi).toFixed(2)}, ARI ${(100 * scored.ari).toFixed(2)}`);
  console.log(`wrote ${join(args.out, 'clusters.csv')}, ${args.clusters} contact sheets and summary.json`);
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Up to `sheet` images tiled in rows of 8, each scaled to at least 48 pixels (nearest neighbour), on grey. */
async function contactSheet(dataset: ImageDataset, indices: number[], file: string): Promise<void> {
  const perRow = 8;
  const scale = Math.max(1, Math.ceil(48 / Math.max(dataset.height, dataset.width)));
  const tileH = dataset.height * scale;
  const tileW = dataset.width * scale;
  const gap = 2;
  const rows = Math.max(1, Math.ceil(indices.length / perRow));
  const width = perRow * (tileW + gap) + gap;
  const height = rows * (tileH + gap) + gap;
  const rgb = Buffer.alloc(width * height * 3, 128);
  if (indices.length > 0) {
    const pixels = dataset.raw(indices);
    const float = pixels.dtype === 'float32';
    const { channels: c, height: h, width: w } = dataset;
    indices.forEach((_, t) => {
      const x0 = gap + (t % perRow) * (tileW + gap);
      const y0 = gap + Math.floor(t / perRow) * (tileH + gap);
      for (let y = 0; y < tileH; y++) {
        for (let x = 0; x < tileW; x++) {
          const src = Math.floor(y / scale) * w + Math.floor(x / scale);
          for (let ch = 0; ch < 3; ch++) {
            const v = pixels.data[t * c * h * w + (c === 3 ? ch : 0) * h * w + src]! as number;
            rgb[((y0 + y) * width + x0 + x) * 3 + ch] = float ? Math.round(Math.min(1, Math.max(0, v)) * 255) : v;
          }
        }
      }
    });
  }
  await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
