/**
 * The functions' pre-built code. `npm run build` (scripts/build-functions.ts)
 * bundles each entry of {@link FUNCTIONS} into `dist/functions/<name>/`; the
 * construct deploys that directory with `lambda.Code.fromAsset`, so a consumer
 * of the package runs no bundler at synth, and this repository's app and tests
 * deploy the very files the package ships.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ConfigError } from '../lambda/commons/errors';

/** Powertools Tracer: loaded only when the `tracing` prop is on (lambda/commons/tracing.ts). */
const TRACER_PACKAGE = '@aws-lambda-powertools/tracer';

/**
 * Every function the package ships: handler source (relative to the package
 * root, read by the build only) and the packages it loads lazily. A lazy
 * package is reached only through `import()`: the build leaves it out of
 * `index.js` and pre-bundles it beside it in `node_modules/<name>/index.js`,
 * where `require` finds it, so V8 never parses its code at a cold start.
 * Adding a function is one line here plus its `functionCode('<name>')`.
 */
export const FUNCTIONS = {
  receive: { entry: 'lambda/handlers/receive.ts', lazy: ['mailparser', TRACER_PACKAGE] },
  send: { entry: 'lambda/handlers/send.ts', lazy: [TRACER_PACKAGE] },
  sweep: { entry: 'lambda/handlers/sweep.ts', lazy: [TRACER_PACKAGE] },
  compile: { entry: 'lambda/handlers/compile.ts', lazy: [TRACER_PACKAGE] },
} as const satisfies Record<string, { readonly entry: string; readonly lazy: readonly string[] }>;

/** Name of a shipped function. */
export type FunctionName = keyof typeof FUNCTIONS;

/** The directory holding package.json: lib/ runs from source here, dist/lib/ from the package. */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new ConfigError(`ses-bouncer: no package.json above ${from}`);
  }
}

/** Root of the ses-bouncer package (or of this repository). */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** `version` of the package's package.json; the functions log the same value (bundled at build time). */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Where the build writes, and the package ships, the function bundles. */
export const FUNCTIONS_DIR = path.join(PACKAGE_ROOT, 'dist', 'functions');

/** The pre-built directory of one function (index.js exporting `handler`). */
export function functionAssetDir(name: FunctionName): string {
  return path.join(FUNCTIONS_DIR, name);
}

/**
 * The function's code as a CDK asset. Throws a one-line {@link ConfigError}
 * when the build has not run (a checkout without `npm run build`).
 */
export function functionCode(name: FunctionName): lambda.Code {
  const dir = functionAssetDir(name);
  if (!existsSync(path.join(dir, 'index.js'))) {
    throw new ConfigError(`ses-bouncer: the ${name} function is not built (no ${path.join(dir, 'index.js')}); run "npm run build" in ${PACKAGE_ROOT}`);
  }
  return lambda.Code.fromAsset(dir);
}
