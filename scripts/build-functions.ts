/**
 * Bundles every function of lib/assets.ts FUNCTIONS into dist/functions/<name>/
 * (what the package ships and the construct deploys) with esbuild, once, at
 * build time: `npm run build`. Source maps and metafiles go to .build/<name>/,
 * which is not shipped (see "Source maps" in docs/deploy.md).
 *
 * Run: `npx tsx scripts/build-functions.ts [outDir]`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { FUNCTIONS, PACKAGE_ROOT, type FunctionName } from '../lib/assets';

/**
 * esbuild options shared by every function and by the benchmarks' baselines.
 * The AWS SDK is bundled instead of using the runtime's copy: the versions
 * pinned in package-lock.json are the ones the tests ran against.
 */
export const FUNCTION_BUILD_OPTIONS: Readonly<BuildOptions> = Object.freeze({
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  // Written to .build/, not shipped: no sourceMappingURL comment in index.js.
  sourcemap: 'external',
  logLevel: 'warning',
});

/** Where the build puts what is not shipped (maps, metafiles). */
export const BUILD_INFO_DIR = join(PACKAGE_ROOT, '.build');

/** One built function. */
export interface BuiltFunction {
  readonly name: FunctionName;
  /** The `index.js` Lambda loads. */
  readonly file: string;
  readonly metafile: Metafile;
}

/**
 * Builds one function into `outDir` (emptied first): `index.js`, plus each
 * lazy package pre-bundled into `node_modules/<pkg>/index.js`. `import()` is
 * compiled to `require()` so that the lazy package loads through the CommonJS
 * loader, which sees the pre-bundle's `module.exports` whatever its shape
 * (Node's ESM loader would only see the names its lexer can find).
 */
export async function buildFunction(name: FunctionName, outDir: string, infoDir = join(BUILD_INFO_DIR, name)): Promise<BuiltFunction> {
  const { entry, lazy } = FUNCTIONS[name];
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  mkdirSync(infoDir, { recursive: true });
  const result = await build({
    ...FUNCTION_BUILD_OPTIONS,
    entryPoints: [join(PACKAGE_ROOT, entry)],
    outfile: join(outDir, 'index.js'),
    external: [...lazy],
    ...(lazy.length > 0 ? { supported: { 'dynamic-import': false } } : {}),
    absWorkingDir: PACKAGE_ROOT,
    metafile: true,
    write: false,
  });
  for (const out of result.outputFiles) {
    // The map goes beside the metafile, out of the shipped directory.
    const target = out.path.endsWith('.map') ? join(infoDir, 'index.js.map') : out.path;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.contents);
  }
  writeFileSync(join(infoDir, 'metafile.json'), JSON.stringify(result.metafile));
  for (const pkg of lazy) {
    await build({
      ...FUNCTION_BUILD_OPTIONS,
      sourcemap: false,
      entryPoints: [require.resolve(pkg, { paths: [PACKAGE_ROOT] })],
      outfile: join(outDir, 'node_modules', pkg, 'index.js'),
    });
  }
  return { name, file: join(outDir, 'index.js'), metafile: result.metafile };
}

/** Builds every function into `<root>/<name>/`. */
export async function buildFunctions(root = join(PACKAGE_ROOT, 'dist', 'functions')): Promise<BuiltFunction[]> {
  const built: BuiltFunction[] = [];
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) built.push(await buildFunction(name, join(root, name)));
  return built;
}

if (require.main === module) {
  buildFunctions(process.argv[2]).then(
    (built) => console.log(`built ${built.map((b) => b.name).join(', ')} into ${dirname(built[0].file).replace(/[^/]+$/, '')}`),
    (err: unknown) => {
      console.error(`build-functions: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
