/**
 * Builds Lambda bundles with esbuild exactly as the package build does: the
 * functions through scripts/build-functions.ts itself, baselines with its
 * FUNCTION_BUILD_OPTIONS.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FunctionName } from '../../lib/assets';
import { buildFunction } from '../../scripts/build-functions';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { REPO_ROOT } from './paths';

/** One built bundle. */
export interface BuiltBundle {
  readonly name: string;
  /** The `index.js` a Lambda would load. */
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Bytes of what `commandHooks.afterBundling` added beside index.js (the lazily loaded packages). */
  readonly besideBytes: number;
  readonly metafile: Metafile;
}

function bytesUnder(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(dir, name);
    total += statSync(p).isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return total;
}

/**
 * Builds a function exactly as `npm run build` does (scripts/build-functions.ts:
 * the same esbuild options, lazy packages pre-bundled beside it) into `outDir`.
 */
export async function buildFunctionBundle(name: FunctionName, outDir: string): Promise<BuiltBundle> {
  const built = await buildFunction(name, outDir, join(outDir, '..', `${name}-info`));
  const code = readFileSync(built.file);
  return { name, file: built.file, bytes: code.length, gzipBytes: gzipSync(code).length, besideBytes: bytesUnder(join(outDir, 'node_modules')), metafile: built.metafile };
}

/**
 * Builds one bundle into `<outDir>/index.js`, from a file (`entry`) or from
 * source text (`contents`, resolved from the repository root).
 */
export async function buildBundle(
  name: string,
  source: { entry: string } | { contents: string },
  base: BuildOptions,
  outDir: string,
  extra: Partial<BuildOptions> = {},
): Promise<BuiltBundle> {
  const file = `${outDir}/index.js`;
  const input =
    'entry' in source
      ? { entryPoints: [source.entry] }
      : { stdin: { contents: source.contents, resolveDir: REPO_ROOT, sourcefile: `${name}.ts`, loader: 'ts' as const } };
  // The metafile is a side output: it does not change the bundle's bytes.
  const result = await build({ ...base, ...extra, ...input, outfile: file, metafile: true, absWorkingDir: REPO_ROOT });
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code).length, besideBytes: 0, metafile: result.metafile! };
}

/** npm package of a metafile input path (`node_modules/@scope/name/...` → `@scope/name`), or undefined for project files. */
export function packageOf(inputPath: string): string | undefined {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(inputPath);
  return m?.[1];
}

/** npm packages that have bytes in the bundle's output (the metafile's inputs also list files tree-shaken away). */
export function packagesInOutput(metafile: Metafile): Set<string> {
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = packageOf(input);
      if (pkg && bytesInOutput > 0) found.add(pkg);
    }
  }
  return found;
}

/**
 * Import edges from outside `pkg` into it, with their kind. A package is
 * loaded lazily exactly when every such edge is a `dynamic-import`.
 */
export function importsInto(metafile: Metafile, pkg: string): { from: string; to: string; kind: string }[] {
  const edges: { from: string; to: string; kind: string }[] = [];
  for (const [from, input] of Object.entries(metafile.inputs)) {
    if (packageOf(from) === pkg) continue;
    for (const imp of input.imports) {
      // An external import keeps the bare specifier as its path.
      if (packageOf(imp.path) === pkg || imp.path === pkg || imp.path.startsWith(`${pkg}/`)) edges.push({ from, to: imp.path, kind: imp.kind });
    }
  }
  return edges;
}
