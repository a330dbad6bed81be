/**
 * Figure 1 — cold start. Each function is bundled as the stack bundles it;
 * its module-init time (require of index.js, which builds config, clients
 * and adapters at module scope) is measured in fresh `node` processes beside
 * a baseline bundle that only imports and constructs the same AWS SDK
 * clients. Rounds interleave the bundles so machine noise hits all alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS as SHIPPED, type FunctionName } from '../lib/assets';
import { FUNCTION_BUILD_OPTIONS } from '../scripts/build-functions';
import { runNodeChild } from './lib/child';
import { buildBundle, buildFunctionBundle, importsInto, packagesInOutput, type BuiltBundle } from './lib/bundle';
import { benchEnvironment } from './lib/local-services';
import type { Benchmark, ResultRow } from './lib/result';
import { fmt, fmtBytes, fmtSummary, summarize, type Summary } from './lib/stats';

/** Target of the issue: init ≤ 1.3 × the SDK-only baseline. */
const INIT_RATIO_TARGET = 1.3;

const FUNCTIONS: ReadonlyArray<{ name: FunctionName; entry: string }> = (Object.keys(SHIPPED) as FunctionName[]).map((name) => ({ name, entry: SHIPPED[name].entry }));
/** The packages a function loads lazily (lib/assets.ts FUNCTIONS). */
const lazyOf = (name: FunctionName): readonly string[] => SHIPPED[name].lazy;

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
  // Receive reads compiled rules from this bucket (issue 13); the compile function requires it.
  RULES_SNAPSHOT_BUCKET: 'ses-bouncer-rule-snapshots',
  POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
  POWERTOOLS_METRICS_NAMESPACE: 'SesBouncer',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

/**
 * The child: times `require(bundle)` plus the promise jobs it queued (with
 * tracing on, the Tracer loads in one, still before the first invocation
 * could start) and lists the node_modules packages it evaluated.
 */
const INIT_CHILD = `'use strict';
const { file } = JSON.parse(process.argv[2]);
const t0 = process.hrtime.bigint();
const mod = require(file);
setImmediate(() => {
  const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (typeof mod.handler !== 'function') throw new Error('bundle exports no handler: ' + file);
  const packages = [...new Set(Object.keys(require.cache).map((p) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p) || [])[1]).filter(Boolean))];
  process.stdout.write(JSON.stringify({ initMs, packages }) + '\\n');
});
`;

/** The lazy package a function loads at init when its `TRACING` setting is on. */
const TRACER = '@aws-lambda-powertools/tracer';

/**
 * Settings of a function deployed with `tracing: true`: TRACING on, and the
 * Lambda execution environment Powertools Tracer checks before it patches
 * the clients (no X-Ray daemon here: a missing segment is ignored).
 */
const TRACING_ENV: Record<string, string> = {
  TRACING: 'true',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
};

/** What an attribution bundle adds to the SDK clients. */
const ADDITIONS = {
  none: [],
  zod: [`import { z } from 'zod';`, `export const schema = z.object({ a: z.string() });`],
  // zod in the bundle but never evaluated: what parsing its code costs on its own.
  zodUnevaluated: [`export const later = () => require('zod');`],
  zodMini: [`import * as z from 'zod/mini';`, `export const schema = z.object({ a: z.string() });`],
  powertools: [
    `import { Logger } from '@aws-lambda-powertools/logger';`,
    `import { Metrics } from '@aws-lambda-powertools/metrics';`,
    `export const logger = new Logger({ serviceName: 'ses-bouncer' });`,
    `export const metrics = new Metrics({ namespace: 'SesBouncer', serviceName: 'ses-bouncer' });`,
  ],
} as const;

/** Source of the baseline: the same SDK clients, imported and constructed as the handlers do, plus one addition for attribution. */
function baselineSource(clientPackages: readonly string[], addition: keyof typeof ADDITIONS): string {
  const lines: string[] = clientPackages.map((pkg, i) => `import { ${SDK_CLIENTS[pkg]} as C${i} } from '${pkg}';`);
  lines.push(...ADDITIONS[addition]);
  lines.push(`export const clients = [${clientPackages.map((_, i) => `new C${i}({})`).join(', ')}];`);
  lines.push(`export const handler = async () => clients.length;`);
  return lines.join('\n');
}

/** SDK client packages with code in the bundle (not merely parsed and tree-shaken away). */
function sdkClientsIn(bundle: BuiltBundle): string[] {
  const found = [...packagesInOutput(bundle.metafile)].filter((pkg) => pkg.startsWith('@aws-sdk/client-'));
  for (const pkg of found) if (!SDK_CLIENTS[pkg]) throw new Error(`no client class known for ${pkg}; add it to SDK_CLIENTS`);
  return found.sort();
}

/** Bytes of zod in a bundle's output: its classic layer (`zod/v4/classic`, what `import 'zod'` adds) and all of zod. */
function zodBytesIn(bundle: BuiltBundle): { classic: number; total: number } {
  let classic = 0;
  let total = 0;
  for (const output of Object.values(bundle.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (!/(^|\/)node_modules\/zod\//.test(input)) continue;
      total += bytesInOutput;
      if (/\/zod\/v4\/classic\//.test(input)) classic += bytesInOutput;
    }
  }
  return { classic, total };
}

export const coldStart: Benchmark = async ({ quick, workDir, log }) => {
  const rounds = quick ? 8 : 20;
  const dir = join(workDir, 'cold-start');
  mkdirSync(dir, { recursive: true });
  const options = { ...FUNCTION_BUILD_OPTIONS, sourcemap: false } as const;

  // Each function exactly as the package ships it (npm run build: lazy packages beside the bundle).
  const functions: BuiltBundle[] = [];
  for (const f of FUNCTIONS) functions.push(await buildFunctionBundle(f.name, join(dir, f.name)));
  // Each function's baseline: the SDK clients that function bundles, nothing else.
  const baselines = new Map<string, BuiltBundle>();
  const clientsOf = new Map<string, string[]>();
  for (const b of functions) {
    const clients = sdkClientsIn(b);
    clientsOf.set(b.name, clients);
    baselines.set(b.name, await buildBundle(`baseline (${b.name})`, { contents: baselineSource(clients, 'none') }, options, join(dir, `baseline-${b.name}`)));
  }
  // Attribution on receive's clients: zod (the house rule "zod at the edges"), zod parsed but never run, zod/mini, Powertools.
  const attribution: Array<{ bundle: BuiltBundle; measure: string }> = [];
  for (const [addition, measure] of [
    ['zod', 'receive baseline + zod classic (one schema)'],
    ['zodUnevaluated', 'receive baseline + zod classic bundled, never evaluated'],
    ['zodMini', 'receive baseline + zod/mini (one schema)'],
    ['powertools', 'receive baseline + Powertools logger and metrics'],
  ] as const) {
    const bundle = await buildBundle(`baseline+${addition}`, { contents: baselineSource(clientsOf.get('receive')!, addition) }, options, join(dir, `baseline-${addition}`));
    attribution.push({ bundle, measure: `attribution: ${measure}` });
  }
  // Attribution: receive as one single bundle (lazy packages inside it, parsed at load though not evaluated): the build before functionBundling.
  const receiveSingle = await buildBundle('receive (single bundle)', { entry: FUNCTIONS[0].entry }, options, join(dir, 'receive-single'));

  // Static check: lazy packages are reached only through dynamic import() (compiled to a deferred require).
  const staticEdges = functions.flatMap((b) =>
    lazyOf(b.name as FunctionName).flatMap((pkg) => importsInto(b.metafile, pkg).map((e) => ({ bundle: b.name, pkg, ...e }))),
  );
  const eagerEdges = staticEdges.filter((e) => e.kind !== 'dynamic-import');
  const lazyCount = FUNCTIONS.reduce((n, f) => n + lazyOf(f.name).length, 0);

  const child = join(dir, 'init-child.js');
  writeFileSync(child, INIT_CHILD);
  // No NODE_PATH: each bundle directory must be self-contained, like a Lambda asset.
  const env = { ...benchEnvironment(), ...FUNCTION_ENV };
  // Each shipped function again with tracing on: the same files, TRACING=true (the construct's tracing prop).
  const traced = functions.map((b) => ({ ...b, name: `${b.name} (tracing on)` }));
  const timed = [...baselines.values(), ...attribution.map((a) => a.bundle), ...functions, ...traced, receiveSingle];
  const samples = new Map<string, number[]>(timed.map((b) => [b.name, []]));
  const lazyLoadedAtInit = new Set<string>();
  const tracerLoaded = new Map<string, number>(traced.map((b) => [b.name, 0]));
  log(`cold start: ${rounds} rounds × ${timed.length} bundles in fresh node processes`);
  for (let round = 0; round < rounds; round++) {
    for (const b of timed) {
      const isTraced = traced.includes(b as (typeof traced)[number]);
      const { result } = await runNodeChild<{ initMs: number; packages: string[] }>(child, { file: b.file }, { env: isTraced ? { ...env, ...TRACING_ENV } : env });
      samples.get(b.name)!.push(result.initMs);
      if (functions.includes(b)) for (const p of result.packages) if (lazyOf(b.name as FunctionName).includes(p)) lazyLoadedAtInit.add(`${b.name}: ${p}`);
      if (isTraced && result.packages.includes(TRACER)) tracerLoaded.set(b.name, tracerLoaded.get(b.name)! + 1);
    }
  }

  const s = (name: string): Summary => summarize(samples.get(name)!);
  const size = (b: BuiltBundle) => `${fmtBytes(b.bytes)}, ${fmtBytes(b.gzipBytes)} gzip${b.besideBytes ? ` (+ ${fmtBytes(b.besideBytes)} lazy packages beside it)` : ''}`;
  const rows: ResultRow[] = [];
  const ratios: Record<string, number> = {};
  for (const b of functions) {
    const baseline = baselines.get(b.name)!;
    rows.push({ measure: `${b.name}: bundle size, gzip`, value: size(b), baseline: `${size(baseline)} (${clientsOf.get(b.name)!.map((c) => c.slice('@aws-sdk/client-'.length)).join(', ')})` });
  }
  for (const b of functions) {
    // The functions' schemas use zod/mini (lambda/commons/zod.ts); classic code would cost ~0.2x at init (attribution rows below).
    const zod = zodBytesIn(b);
    rows.push({
      measure: `${b.name}: zod in the bundle (metafile)`,
      value: `${fmtBytes(zod.total)} of zod, of which classic ${fmtBytes(zod.classic)}`,
      target: 'no zod classic code',
      met: zod.classic === 0,
    });
  }
  for (const b of functions) {
    const fn = s(b.name);
    const base = s(baselines.get(b.name)!.name);
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
  const tracingRatios: Record<string, number> = {};
  for (const [i, b] of functions.entries()) {
    const on = s(traced[i].name);
    const off = s(b.name);
    const base = s(baselines.get(b.name)!.name);
    tracingRatios[b.name] = on.median / off.median;
    rows.push({
      measure: `${b.name} with tracing on (TRACING=true): module init, median of ${rounds} processes`,
      value: `${fmtSummary(on, 'ms')} = ${fmt(on.median / off.median, 3)}× the same function with tracing off, ${fmt(on.median / base.median, 3)}× baseline; Tracer loaded in ${tracerLoaded.get(traced[i].name)}/${rounds} processes`,
      baseline: `tracing off: ${fmtSummary(off, 'ms')}`,
    });
  }
  const receiveBase = s(baselines.get('receive')!.name);
  for (const a of attribution) {
    const t = s(a.bundle.name);
    rows.push({
      measure: a.measure,
      value: `${fmtSummary(t, 'ms')} = ${fmt(t.median / receiveBase.median, 3)}× baseline; ${fmtBytes(a.bundle.bytes)}`,
      baseline: fmtSummary(receiveBase, 'ms'),
    });
  }
  const singleS = s(receiveSingle.name);
  rows.push({
    measure: 'attribution: receive as a single bundle (mailparser inside, parsed at load)',
    value: `${fmtSummary(singleS, 'ms')} = ${fmt(singleS.median / receiveBase.median, 3)}× baseline; ${fmtBytes(receiveSingle.bytes)}`,
    baseline: fmtSummary(receiveBase, 'ms'),
  });
  rows.push({
    measure: `lazy packages (${FUNCTIONS.flatMap((f) => lazyOf(f.name).map((p) => `${f.name}: ${p}`)).join('; ')})`,
    value:
      `metafile: ${staticEdges.length} import edge(s), ${eagerEdges.length} static; ` +
      `evaluated at init: ${lazyLoadedAtInit.size ? [...lazyLoadedAtInit].join(', ') : 'none'}`,
    target: 'dynamic import only, not evaluated at init',
    met: staticEdges.length >= lazyCount && eagerEdges.length === 0 && lazyLoadedAtInit.size === 0,
  });

  return {
    id: 'cold-start',
    title: '1. Cold start',
    rows,
    notes: [
      `Bundles built by scripts/build-functions.ts, as npm run build ships them (FUNCTION_BUILD_OPTIONS ${JSON.stringify(FUNCTION_BUILD_OPTIONS)}; receive adds ${JSON.stringify(lazyOf('receive'))} external, pre-bundled beside it in node_modules/). The source map is written outside the shipped directory.`,
      `Baselines: a bundle with the same options that imports and constructs only the SDK clients that function bundles (receive: ${clientsOf.get('receive')!.join(', ')}; send: ${clientsOf.get('send')!.join(', ')}).`,
      `Init = time of require(index.js) in a fresh node process without NODE_PATH (config, clients, adapters at module scope); ${rounds} rounds, bundles interleaved within each round; median [p10–p90].`,
      'Laziness: the metafile must show only dynamic-import edges into the lazy packages, and requiring the bundle must not load them.',
      `Tracing on: the same bundles with ${JSON.stringify(TRACING_ENV)}; the Tracer (pre-bundled beside index.js) loads at init and patches the SDK clients. Ratios are within this run.`,
    ],
    data: {
      bundles: Object.fromEntries(timed.map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes, besideBytes: b.besideBytes }])),
      initMs: Object.fromEntries([...samples].map(([name, list]) => [name, { summary: summarize(list), samples: list }])),
      ratios,
      tracingRatios,
      zodBytes: Object.fromEntries(functions.map((b) => [b.name, zodBytesIn(b)])),
      lazy: { staticEdges, loadedAtInit: [...lazyLoadedAtInit] },
    },
  };
};
