/** The CLI's version: the package's, read once from package.json beside cli/. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLI_VERSION: string = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
