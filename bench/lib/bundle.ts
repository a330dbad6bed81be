/**
 * Builds Lambda bundles with esbuild exactly as the stack does: the options
 * come from the construct's exported FUNCTION_BUNDLING and are translated the
 * way aws-cdk-lib's NodejsFunction turns them into esbuild arguments
 * (`--bundle --platform=node --target … --minify --sourcemap --external:…`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { REPO_ROOT } from './paths';

/** Bundling props that do not change the bundle's bytes (how or where esbuild runs). */
const NO_EFFECT_ON_OUTPUT = new Set(['forceDockerBundling', 'logLevel', 'metafile']);

/** Props handled outside esbuildOptionsOf: commandHooks run by {@link buildFunctionBundle} as CDK runs them. */
const RUN_AFTER_BUILD = new Set(['commandHooks']);

/** `esbuildArgs` translated to build options; anything else is refused like an unknown prop. */
function esbuildArgsOf(args: Readonly<Record<string, string | boolean>> | undefined): Partial<BuildOptions> {
  const supported: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(args ?? {})) {
    const m = /^--supported:([a-z0-9-]+)$/.exec(key);
    if (!m || (value !== 'true' && value !== 'false')) {
      throw new Error(`esbuildArgs ${JSON.stringify(key)}=${JSON.stringify(value)} is not mirrored by the benchmark; teach bench/lib/bundle.ts about it`);
    }
    supported[m[1]] = value === 'true';
  }
  return Object.keys(supported).length ? { supported } : {};
}

/**
 * esbuild build options equivalent to CDK's for these bundling props. Throws
 * for a prop it does not translate, so a new option in the construct cannot
 * silently make the benchmark measure a different bundle.
 */
export function esbuildOptionsOf(bundling: Readonly<BundlingOptions>): BuildOptions {
  const translated = new Set(['minify', 'sourceMap', 'target', 'externalModules', 'format', 'define', 'keepNames', 'mainFields', 'banner', 'footer', 'loader', 'esbuildArgs']);
  for (const [key, value] of Object.entries(bundling)) {
    if (value === undefined || NO_EFFECT_ON_OUTPUT.has(key) || RUN_AFTER_BUILD.has(key) || translated.has(key)) continue;
    throw new Error(`bundling option ${JSON.stringify(key)} is not mirrored by the benchmark; teach bench/lib/bundle.ts about it`);
  }
  if (!bundling.target) throw new Error('FUNCTION_BUNDLING must name its target (CDK would derive it from the runtime)');
  return {
    bundle: true,
    platform: 'node',
    target: bundling.target,
    // CDK passes no --format unless asked: esbuild then writes CommonJS for platform node.
    format: bundling.format === undefined ? 'cjs' : (bundling.format as BuildOptions['format']),
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    // CDK's default for Node 18+ runtimes is to leave the runtime's AWS SDK out.
    external: [...(bundling.externalModules ?? ['@aws-sdk/*'])],
    define: bundling.define ? { ...bundling.define } : undefined,
    keepNames: bundling.keepNames,
    mainFields: bundling.mainFields ? [...bundling.mainFields] : undefined,
    banner: bundling.banner ? { js: bundling.banner } : undefined,
    footer: bundling.footer ? { js: bundling.footer } : undefined,
    loader: bundling.loader ? ({ ...bundling.loader } as BuildOptions['loader']) : undefined,
    ...esbuildArgsOf(bundling.esbuildArgs as Record<string, string | boolean> | undefined),
    logLevel: 'warning',
  };
}

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
 * Builds a function's bundle as CDK's NodejsFunction does with these bundling
 * props: esbuild with the translated options, then the `afterBundling` shell
 * commands with `bash -c` from the project root (input dir = project root,
 * output dir = `outDir`).
 */
export async function buildFunctionBundle(
  name: string,
  entry: string,
  bundling: Readonly<BundlingOptions>,
  outDir: string,
  extra: Partial<BuildOptions> = {},
): Promise<BuiltBundle> {
  const built = await buildBundle(name, { entry }, esbuildOptionsOf(bundling), outDir, extra);
  for (const cmd of bundling.commandHooks?.afterBundling(REPO_ROOT, outDir) ?? []) {
    execFileSync('bash', ['-c', cmd], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return { ...built, besideBytes: bytesUnder(join(outDir, 'node_modules')) };
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
