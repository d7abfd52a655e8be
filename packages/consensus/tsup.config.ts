import { packageConfig } from '../../config/tsup';

export default packageConfig();
