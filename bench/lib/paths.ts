import { join } from 'node:path';

/** Repository root (bench/lib/../..). */
export const REPO_ROOT = join(__dirname, '..', '..');
