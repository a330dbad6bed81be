/**
 * Builds Lambda bundles with esbuild exactly as the stack does: the options
 * come from the construct's exported FUNCTION_BUNDLING and are translated the
 * way aws-cdk-lib's NodejsFunction turns them into esbuild arguments
 * (`--bundle --platform=node --target … --minify --sourcemap --external:…`).
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { REPO_ROOT } from './paths';

/** Bundling props that do not change the bundle's bytes (how or where esbuild runs). */
const NO_EFFECT_ON_OUTPUT = new Set(['forceDockerBundling', 'logLevel', 'metafile']);

/**
 * esbuild build options equivalent to CDK's for these bundling props. Throws
 * for a prop it does not translate, so a new option in the construct cannot
 * silently make the benchmark measure a different bundle.
 */
export function esbuildOptionsOf(bundling: Readonly<BundlingOptions>): BuildOptions {
  const translated = new Set(['minify', 'sourceMap', 'target', 'externalModules', 'format', 'define', 'keepNames', 'mainFields', 'banner', 'footer', 'loader']);
  for (const [key, value] of Object.entries(bundling)) {
    if (value === undefined || NO_EFFECT_ON_OUTPUT.has(key) || translated.has(key)) continue;
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
  readonly metafile: Metafile;
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
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code).length, metafile: result.metafile! };
}

/** npm package of a metafile input path (`node_modules/@scope/name/...` → `@scope/name`), or undefined for project files. */
export function packageOf(inputPath: string): string | undefined {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(inputPath);
  return m?.[1];
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
      if (packageOf(imp.path) === pkg) edges.push({ from, to: imp.path, kind: imp.kind });
    }
  }
  return edges;
}
