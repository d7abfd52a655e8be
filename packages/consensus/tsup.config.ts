import { packageConfig } from '../../config/tsup';

// SPC's training job runs in worker threads as its own module (dist/train-job.js next to the bundle); see
// trainJobModule() in src/spc/fit.ts.
export default packageConfig({ entry: { index: 'src/index.ts', 'train-job': 'src/spc/train-job.ts' } });
