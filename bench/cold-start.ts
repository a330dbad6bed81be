/**
 * Figure 1 — cold start. Each function is bundled as the stack bundles it;
 * its module-init time (require of index.js, which builds config, clients
 * and adapters at module scope) is measured in fresh `node` processes beside
 * a baseline bundle that only imports and constructs the same AWS SDK
 * clients. Rounds interleave the bundles so machine noise hits all alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_BUNDLING } from '../lib/ses-bouncer-construct';
import { runNodeChild } from './lib/child';
import { REPO_ROOT } from './lib/paths';
import { buildBundle, esbuildOptionsOf, importsInto, packageOf, type BuiltBundle } from './lib/bundle';
import { benchEnvironment } from './lib/local-services';
import type { Benchmark, ResultRow } from './lib/result';
import { fmt, fmtBytes, fmtSummary, summarize, type Summary } from './lib/stats';

/** Target of the issue: init ≤ 1.3 × the SDK-only baseline. */
const INIT_RATIO_TARGET = 1.3;

/** Packages only some messages need: they must be reached through a dynamic import only. */
const LAZY_PACKAGES = ['mailparser'];

const FUNCTIONS = [
  { name: 'receive', entry: 'lambda/handlers/receive.ts' },
  { name: 'send', entry: 'lambda/handlers/send.ts' },
] as const;

/** SDK client packages and the client class each exports. */
const SDK_CLIENTS: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/client-s3': 'S3Client',
  '@aws-sdk/client-ses': 'SESClient',
  '@aws-sdk/client-sqs': 'SQSClient',
};

/** Settings as the construct passes them; values only need to be valid. */
const FUNCTION_ENV: Record<string, string> = {
  BOUNCE_SENDER: 'mailer-daemon@example.com',
  REPORTING_MTA: 'mx.example.com',
  RULES_TABLE: 'ses-bouncer-rules',
  STATE_TABLE: 'ses-bouncer-state',
  BOUNCE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ses-bouncer-bounces',
  MAIL_BUCKET: 'ses-bouncer-mail',
  MAIL_PREFIX: 'inbound/',
  POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
  POWERTOOLS_METRICS_NAMESPACE: 'SesBouncer',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

/** The child: times `require(bundle)` and lists the node_modules packages it evaluated. */
const INIT_CHILD = `'use strict';
const { file } = JSON.parse(process.argv[2]);
const t0 = process.hrtime.bigint();
const mod = require(file);
const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
if (typeof mod.handler !== 'function') throw new Error('bundle exports no handler: ' + file);
const packages = [...new Set(Object.keys(require.cache).map((p) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p) || [])[1]).filter(Boolean))];
process.stdout.write(JSON.stringify({ initMs, packages }) + '\\n');
`;

/** Source of the baseline: the same SDK clients, imported and constructed as createClients does, nothing else. */
function baselineSource(clientPackages: readonly string[], withZod: boolean): string {
  const lines = clientPackages.map((pkg, i) => `import { ${SDK_CLIENTS[pkg]} as C${i} } from '${pkg}';`);
  if (withZod) lines.push(`import { z } from 'zod';`, `export const schema = z.object({ a: z.string() });`);
  lines.push(`export const clients = [${clientPackages.map((_, i) => `new C${i}({})`).join(', ')}];`);
  lines.push(`export const handler = async () => clients.length;`);
  return lines.join('\n');
}

function sdkClientsIn(bundle: BuiltBundle): string[] {
  const found = new Set<string>();
  for (const input of Object.keys(bundle.metafile.inputs)) {
    const pkg = packageOf(input);
    if (pkg && pkg.startsWith('@aws-sdk/client-')) found.add(pkg);
  }
  for (const pkg of found) if (!SDK_CLIENTS[pkg]) throw new Error(`no client class known for ${pkg}; add it to SDK_CLIENTS`);
  return [...found].sort();
}

export const coldStart: Benchmark = async ({ quick, workDir, log }) => {
  const rounds = quick ? 8 : 20;
  const dir = join(workDir, 'cold-start');
  mkdirSync(dir, { recursive: true });
  const options = esbuildOptionsOf(FUNCTION_BUNDLING);

  const functions: BuiltBundle[] = [];
  for (const f of FUNCTIONS) functions.push(await buildBundle(f.name, { entry: f.entry }, options, join(dir, f.name)));
  const clientPackages = [...new Set(functions.flatMap(sdkClientsIn))].sort();
  const baseline = await buildBundle('baseline', { contents: baselineSource(clientPackages, false) }, options, join(dir, 'baseline'));
  // Attribution: what the house rule "zod at the edges" costs on its own.
  const baselineZod = await buildBundle('baseline+zod', { contents: baselineSource(clientPackages, true) }, options, join(dir, 'baseline-zod'));
  // Attribution and runtime laziness check: receive with the lazy packages left out of the bundle (resolved from node_modules if ever required).
  const receiveLazyOut = await buildBundle('receive (lazy packages external)', { entry: FUNCTIONS[0].entry }, options, join(dir, 'receive-lazy-external'), {
    external: [...(options.external ?? []), ...LAZY_PACKAGES],
  });

  // Static check: lazy packages are reached only through dynamic import().
  const staticEdges = functions.flatMap((b) =>
    LAZY_PACKAGES.flatMap((pkg) => importsInto(b.metafile, pkg).map((e) => ({ bundle: b.name, pkg, ...e }))),
  );
  const eagerEdges = staticEdges.filter((e) => e.kind !== 'dynamic-import');

  const child = join(dir, 'init-child.js');
  writeFileSync(child, INIT_CHILD);
  const env = { ...benchEnvironment(), ...FUNCTION_ENV, NODE_PATH: join(REPO_ROOT, 'node_modules') };
  const timed = [baseline, baselineZod, ...functions, receiveLazyOut];
  const samples = new Map<string, number[]>(timed.map((b) => [b.name, []]));
  let lazyLoadedAtInit: string[] = [];
  log(`cold start: ${rounds} rounds × ${timed.length} bundles in fresh node processes`);
  for (let round = 0; round < rounds; round++) {
    for (const b of timed) {
      const { result } = await runNodeChild<{ initMs: number; packages: string[] }>(child, { file: b.file }, { env });
      samples.get(b.name)!.push(result.initMs);
      if (b === receiveLazyOut) lazyLoadedAtInit = result.packages.filter((p) => LAZY_PACKAGES.includes(p));
    }
  }

  const s = (name: string): Summary => summarize(samples.get(name)!);
  const base = s(baseline.name);
  const rows: ResultRow[] = [];
  rows.push({
    measure: 'baseline bundle (SDK clients only): size, gzip',
    value: `${fmtBytes(baseline.bytes)}, ${fmtBytes(baseline.gzipBytes)} gzip`,
  });
  for (const b of functions) {
    rows.push({ measure: `${b.name}: bundle size, gzip`, value: `${fmtBytes(b.bytes)}, ${fmtBytes(b.gzipBytes)} gzip`, baseline: `${fmtBytes(baseline.bytes)}, ${fmtBytes(baseline.gzipBytes)} gzip` });
  }
  const ratios: Record<string, number> = {};
  for (const b of functions) {
    const fn = s(b.name);
    const ratio = fn.median / base.median;
    ratios[b.name] = ratio;
    rows.push({
      measure: `${b.name}: module init, median of ${rounds} processes`,
      value: `${fmtSummary(fn, 'ms')} = ${fmt(ratio, 3)}× baseline`,
      baseline: fmtSummary(base, 'ms'),
      target: `≤ ${INIT_RATIO_TARGET}× baseline`,
      met: ratio <= INIT_RATIO_TARGET,
    });
  }
  const zodS = s(baselineZod.name);
  rows.push({
    measure: 'attribution: baseline + zod (SDK clients and zod only)',
    value: `${fmtSummary(zodS, 'ms')} = ${fmt(zodS.median / base.median, 3)}× baseline; ${fmtBytes(baselineZod.bytes)}`,
    baseline: fmtSummary(base, 'ms'),
  });
  const lazyS = s(receiveLazyOut.name);
  rows.push({
    measure: 'attribution: receive without mailparser in the bundle',
    value: `${fmtSummary(lazyS, 'ms')} = ${fmt(lazyS.median / base.median, 3)}× baseline; ${fmtBytes(receiveLazyOut.bytes)}`,
    baseline: fmtSummary(base, 'ms'),
  });
  rows.push({
    measure: `${LAZY_PACKAGES.join(', ')} loaded lazily`,
    value:
      `metafile: ${staticEdges.length} import edge(s), ${eagerEdges.length} static; ` +
      `init evaluated: ${lazyLoadedAtInit.length ? lazyLoadedAtInit.join(', ') : 'none'}`,
    target: 'dynamic import only, not evaluated at init',
    met: staticEdges.length > 0 && eagerEdges.length === 0 && lazyLoadedAtInit.length === 0,
  });

  return {
    id: 'cold-start',
    title: '1. Cold start',
    rows,
    notes: [
      `Bundles built with esbuild from the construct's FUNCTION_BUNDLING (${JSON.stringify(FUNCTION_BUNDLING)}), as CDK's NodejsFunction runs it.`,
      `Baseline: a bundle with the same options that imports and constructs only the SDK clients the functions bundle (${clientPackages.join(', ')}).`,
      `Init = time of require(index.js) in a fresh node process (config, clients, adapters at module scope); ${rounds} rounds, bundles interleaved within each round; median [p10–p90].`,
      'Laziness: the metafile must show only dynamic-import edges into the lazy packages, and a build with them external must not require them during init.',
    ],
    data: {
      bundles: Object.fromEntries([baseline, baselineZod, ...functions, receiveLazyOut].map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes }])),
      initMs: Object.fromEntries([...samples].map(([name, list]) => [name, { summary: summarize(list), samples: list }])),
      ratios,
      lazy: { staticEdges, loadedAtInit: lazyLoadedAtInit },
    },
  };
};
