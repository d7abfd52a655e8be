import { packageConfig } from '../../config/tsup';

// SPC's training and clustering jobs run in worker threads as their own modules (dist/train-job.js and
// dist/cluster-job.js next to the bundle); see jobModule() in src/spc/fit.ts.
export default packageConfig({ entry: { index: 'src/index.ts', 'train-job': 'src/spc/train-job.ts', 'cluster-job': 'src/spc/cluster-job.ts' } });
