// Only `version` is imported: esbuild inlines that one string, not package.json.
import { version } from '../../package.json';

/** The package version the functions were built from; every log line carries it as `version`. */
export const VERSION: string = version;
