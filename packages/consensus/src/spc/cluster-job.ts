/**
 * One member's clustering (UMAP, then HDBSCAN or a Gaussian mixture) as a function a WorkerPool thread runs, so
 * that several members' layouts, single-threaded JavaScript, run on several cores at once. Each clustering has
 * its own seed, so where it runs changes nothing in its result. Built as its own file (dist/cluster-job.js) beside
 * the bundle; see clusterMember() in fit.ts.
 */
import { Tensor } from '@dc/core';
import { clusterLatents, type ClusterSettings, type MemberClustering } from './cluster.js';
import type { UmapStage } from '../umap/umap.js';

export interface ClusterJobArgs {
  /** Latent codes [n, d], row-major. */
  latent: Float32Array;
  n: number;
  d: number;
  settings: ClusterSettings;
  seed: number;
}

export interface ClusterJobProgress {
  stage: UmapStage;
  done: number;
  total: number;
}

export function clusterJob(args: ClusterJobArgs, report: (event: ClusterJobProgress) => void): Promise<MemberClustering> {
  return clusterLatents(new Tensor('float32', args.latent, [args.n, args.d]), {
    options: args.settings,
    seed: args.seed,
    onUmap: (stage, done, total) => report({ stage, done, total }),
  });
}
