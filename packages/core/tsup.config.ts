import { packageConfig } from '../../config/tsup';

// WorkerPool's threads run dist/call-entry.js next to the bundle; see src/workers/pool.ts.
export default packageConfig({ entry: { index: 'src/index.ts', 'call-entry': 'src/workers/call-entry.ts' } });
