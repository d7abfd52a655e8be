import { packageConfig } from '../../config/tsup';

// The training worker runs as its own script (dist/worker-entry.js) next to the bundle; see src/train/worker.ts.
export default packageConfig({ entry: { index: 'src/index.ts', 'worker-entry': 'src/train/worker-entry.ts' } });
