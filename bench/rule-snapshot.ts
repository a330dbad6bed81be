/**
 * Figure 3b — rules from the compiled snapshot (issue 13) beside today's Scan
 * path, same run, same tables. At 1k, 10k and 100k rules (figure 3's mix):
 * - reads per warm instance per hour with the rules unchanged, counted at the
 *   SDK edge: requests, and the read units DynamoDB reports for them;
 * - cold load: a fresh source's first `current()`, snapshot (GetItem,
 *   GetObject, gunzip, decode, index) vs Scan (Scan pages, unmarshall,
 *   validate, index);
 * - heap retained by the compiled rules each path loads.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDbRuleSource, RefreshingRuleSource } from '../lambda/adapters/dynamodb/rule-source';
import { DynamoDbRulesPointer } from '../lambda/adapters/dynamodb/rules-pointer';
import { S3RuleSnapshotStore } from '../lambda/adapters/s3/rule-snapshot-store';
import { SnapshotRuleSource } from '../lambda/adapters/snapshot/snapshot-rule-source';
import { compileSnapshot, type CompileResult } from '../lambda/app/compile-snapshot';
import { scanRulesTable } from '../lambda/adapters/dynamodb/rule-source';
import type { CompiledRules } from '../lambda/domain/rules';
import { LOCAL_REGION } from '../local/dynamodb/dynamodb-local';
import { S3RVER_CREDENTIALS, startLocalS3Server } from '../local/s3/local-s3';
import { ruleItems, silentLogger, silentMetrics } from './lib/fixtures';
import { settledHeapUsed } from './lib/heap';
import { startBenchDynamoDb } from './lib/local-services';
import type { Benchmark, ResultRow } from './lib/result';
import { countDynamoDbRequests, countReadUnits, countS3Bytes } from './lib/sdk-edge';
import { fmt, fmtBytes, fmtSummary, summarize } from './lib/stats';
import { batchWrite, mixAt } from './rule-scale';

/** The functions' default cache period (RULES_CACHE_SECONDS=60): 60 loads per warm instance per hour. */
const CACHE_MS = 60_000;
const PERIODS_PER_HOUR = 3_600_000 / CACHE_MS;

interface Sides {
  readonly db: DynamoDBClient;
  readonly s3: S3Client;
}

type SourceKind = 'snapshot' | 'scan';

function newSource(kind: SourceKind, clients: Sides, tables: { rules: string; state: string }, bucket: string, now: () => number): RefreshingRuleSource {
  const common = { client: clients.db, tableName: tables.rules, cacheMs: CACHE_MS, now, logger: silentLogger, metrics: silentMetrics };
  if (kind === 'scan') return new DynamoDbRuleSource(common);
  return new SnapshotRuleSource({
    ...common,
    pointer: new DynamoDbRulesPointer({ client: clients.db, tableName: tables.state }),
    snapshots: new S3RuleSnapshotStore({ client: clients.s3, bucket, prefix: 'rules/' }),
  });
}

/** One timed cold load on a fresh source, and the settled heap while its rules are held (a separate frame, as in figure 3). */
async function coldLoad(kind: SourceKind, clients: Sides, tables: { rules: string; state: string }, bucket: string): Promise<{ ms: number; size: number; heldBytes: number }> {
  const source = newSource(kind, clients, tables, bucket, Date.now);
  const t0 = process.hrtime.bigint();
  const rules: CompiledRules = await source.current();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (kind === 'snapshot' && (source as SnapshotRuleSource).servedVersion === undefined) throw new Error('snapshot source fell back to the Scan path');
  const heldBytes = settledHeapUsed();
  return { ms, size: rules.size, heldBytes };
}

/** Reads of one warm instance over `periods` cache periods with unchanged rules (fake clock), after its first load. */
async function warmReads(kind: SourceKind, endpoints: () => Sides, tables: { rules: string; state: string }, bucket: string, periods: number) {
  const clients = endpoints();
  const requests = countDynamoDbRequests(clients.db);
  const units = countReadUnits(clients.db);
  const objects = countS3Bytes(clients.s3);
  let clock = Date.now();
  const source = newSource(kind, clients, tables, bucket, () => clock);
  await source.current();
  requests.reset();
  units.reset();
  objects.reset();
  for (let p = 0; p < periods; p++) {
    clock += CACHE_MS;
    await source.current();
    await source.whenIdle();
  }
  const perPeriod = (n: number) => n / periods;
  const counts = requests.snapshot();
  return {
    periods,
    requestsPerPeriod: perPeriod(counts.reads),
    byOperation: counts.byOperation,
    unitsPerPeriod: perPeriod(units.units()),
    unreported: units.unreported(),
    s3RequestsPerPeriod: perPeriod(Object.values(objects.requests()).reduce((a, n) => a + n, 0)),
    s3BytesPerPeriod: perPeriod(objects.bytes()),
  };
}

export const ruleSnapshot: Benchmark = async ({ quick, log }) => {
  const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  const db = await startBenchDynamoDb();
  const s3server = await startLocalS3Server({});
  const s3clients: S3Client[] = [];
  const s3client = () => {
    const c = new S3Client({ endpoint: s3server.endpoint, region: LOCAL_REGION, credentials: S3RVER_CREDENTIALS, forcePathStyle: true });
    s3clients.push(c);
    return c;
  };
  const endpoints = (): Sides => ({ db: db.client(), s3: s3client() });
  const rows: ResultRow[] = [];
  const data: Record<string, unknown>[] = [];
  try {
    const tables = await db.createTables('bench-snapshot');
    const bucket = 'bench-rule-snapshots';
    await s3client().send(new CreateBucketCommand({ Bucket: bucket }));
    const admin = db.client();
    const written = new Set<string>();
    for (const size of sizes) {
      const items = ruleItems(mixAt(size)).filter((item) => !written.has(item.ruleId as string));
      const w0 = Date.now();
      await batchWrite(admin, tables.rules, items);
      for (const item of items) written.add(item.ruleId as string);
      log(`rule snapshot: ${written.size} rules in the table (+${items.length} in ${((Date.now() - w0) / 1000).toFixed(1)} s)`);

      // The compile step, as the stream would run it after the import.
      const compileClients = endpoints();
      const c0 = process.hrtime.bigint();
      const compiled: CompileResult = await compileSnapshot({
        scan: () => scanRulesTable(compileClients.db, tables.rules, { consistentRead: true }),
        store: new S3RuleSnapshotStore({ client: compileClients.s3, bucket, prefix: 'rules/' }),
        pointer: new DynamoDbRulesPointer({ client: compileClients.db, tableName: tables.state }),
        clock: { now: () => Date.now() },
        logger: silentLogger,
        metrics: silentMetrics,
        tableName: tables.rules,
      });
      const compileMs = Number(process.hrtime.bigint() - c0) / 1e6;
      if (compiled.rules !== size) throw new Error(`compiled ${compiled.rules} rules, expected ${size}`);
      log(`rule snapshot: compiled ${size} rules in ${compileMs.toFixed(0)} ms (${compiled.bytes} bytes)`);

      // Reads per warm instance per hour. Each Scan reload reads the same pages, so the Scan path is measured
      // over fewer periods at the larger sizes (they take seconds each) and scaled to the hour like the snapshot path.
      const scanPeriods = size >= 100_000 ? 3 : size >= 10_000 ? 10 : PERIODS_PER_HOUR;
      const snapWarm = await warmReads('snapshot', endpoints, tables, bucket, PERIODS_PER_HOUR);
      const scanWarm = await warmReads('scan', endpoints, tables, bucket, scanPeriods);
      if (snapWarm.unreported || scanWarm.unreported) log(`rule snapshot: ${snapWarm.unreported + scanWarm.unreported} reads without ConsumedCapacity`);

      // Cold loads, alternating the two paths so drift on a shared machine hits both alike.
      const reps = size >= 100_000 ? 3 : 5;
      const load: Record<SourceKind, number[]> = { snapshot: [], scan: [] };
      const heap: Record<SourceKind, number[]> = { snapshot: [], scan: [] };
      for (let r = 0; r < reps; r++) {
        for (const kind of ['snapshot', 'scan'] as const) {
          const once = await coldLoad(kind, endpoints(), tables, bucket);
          if (once.size !== size) throw new Error(`${kind} loaded ${once.size} rules, expected ${size}`);
          load[kind].push(once.ms);
          // The loaded rules died with coldLoad's frame: what this GC frees is what they held.
          heap[kind].push(once.heldBytes - settledHeapUsed());
        }
      }
      const snapLoad = summarize(load.snapshot);
      const scanLoad = summarize(load.scan);
      const snapHeap = summarize(heap.snapshot);
      const scanHeap = summarize(heap.scan);
      const n = size.toLocaleString('en-US');
      const hour = (w: typeof snapWarm) => ({
        requests: w.requestsPerPeriod * PERIODS_PER_HOUR,
        units: w.unitsPerPeriod * PERIODS_PER_HOUR,
        s3Requests: w.s3RequestsPerPeriod * PERIODS_PER_HOUR,
      });
      const snapHour = hour(snapWarm);
      const scanHour = hour(scanWarm);
      const unitRatio = scanHour.units / snapHour.units;
      const loadRatio = scanLoad.median / snapLoad.median;
      const perRule = snapHeap.median / size;
      const largest = size === sizes[sizes.length - 1] && size >= 100_000;
      rows.push(
        {
          measure: `${n} rules: DynamoDB reads per warm instance per hour, rules unchanged`,
          value: `snapshot: ${fmt(snapHour.requests)} GetItem, ${fmt(snapHour.units)} read units, ${fmt(snapHour.s3Requests)} S3 GETs`,
          baseline: `Scan: ${fmt(scanHour.requests)} Scan requests, ${fmt(scanHour.units)} read units`,
          ...(largest ? { target: '≥ 1,000× fewer read units at 100k', met: unitRatio >= 1_000 } : {}),
        },
        { measure: `${n} rules: read units, Scan path ÷ snapshot path`, value: `${fmt(unitRatio)}×` },
        {
          measure: `${n} rules: cold load, snapshot (GetItem, GetObject, decode, index)`,
          value: `${fmtSummary(snapLoad, 'ms')} (${reps} loads)`,
          baseline: `Scan path: ${fmtSummary(scanLoad, 'ms')}; ${fmt(loadRatio)}× faster`,
          ...(largest ? { target: '≥ 5× faster and ≤ 500 ms at 100k', met: loadRatio >= 5 && snapLoad.median <= 500 } : {}),
        },
        {
          measure: `${n} rules: heap retained by the compiled rules`,
          value: `snapshot: ${fmtBytes(snapHeap.median)} (${fmt(perRule, 3)} B/rule)`,
          baseline: `Scan path: ${fmtBytes(scanHeap.median)} (${fmt(scanHeap.median / size, 3)} B/rule)`,
          ...(largest ? { target: '≤ 0.5 KB per rule at 100k', met: perRule <= 512 } : {}),
        },
        { measure: `${n} rules: compile step (consistent Scan, validate, encode, PutObject, pointer)`, value: `${fmt(compileMs)} ms, snapshot ${fmtBytes(compiled.bytes)}` },
      );
      data.push({ size, mix: mixAt(size), compileMs, snapshotBytes: compiled.bytes, warm: { snapshot: snapWarm, scan: scanWarm }, perHour: { snapshot: snapHour, scan: scanHour }, loadMs: { snapshot: snapLoad, scan: scanLoad }, heapRetainedBytes: { snapshot: snapHeap, scan: scanHeap } });
    }
  } finally {
    for (const c of s3clients) c.destroy();
    await s3server.stop();
    await db.stop();
  }
  const flat = data.map((d) => (d as { perHour: { snapshot: { units: number } } }).perHour.snapshot.units);
  rows.push({
    measure: `snapshot path read units per hour: ${sizes.map((s) => s.toLocaleString('en-US')).join(' / ')} rules`,
    value: flat.map((u) => fmt(u)).join(' / '),
    target: 'flat',
    met: flat.every((u) => u === flat[0]),
  });
  return {
    id: 'rule-snapshot',
    title: '3b. Rules from the compiled snapshot vs the Scan path (DynamoDB Local, s3rver)',
    rows,
    notes: [
      "Same rule sets as figure 3 (9 % domain rules with a subject condition, 100 wildcards, the rest exact addresses), written once; the compile step runs after each size's import.",
      `Reads per hour: one warm instance with RULES_CACHE_SECONDS=60 (${PERIODS_PER_HOUR} loads an hour), fake clock, rules unchanged; requests counted by middleware on the real DynamoDBClient and S3Client, read units as DynamoDB Local reports them (ReturnConsumedCapacity=TOTAL). The snapshot path is measured over all ${PERIODS_PER_HOUR} periods; the Scan path over 60 / 10 / 3 periods at 1k / 10k / 100k and scaled to the hour (every reload reads the same pages).`,
      'Cold load = a fresh source\'s first current(): snapshot = pointer GetItem, GetObject of the gzipped snapshot, gunzip, decode without the rule schema, index; Scan = paginated eventually consistent Scan, unmarshall, validate, index (figure 3\'s load). The two paths alternate, same tables, same run.',
      'Heap = heapUsed after full GCs with the source and its rules held, minus after dropping them (figure 3\'s method).',
    ],
    data,
  };
};
