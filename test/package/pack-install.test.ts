/**
 * The package as a consumer gets it: `npm pack` of this repository, installed
 * into a fresh plain-JavaScript CDK app in a temp folder (no TypeScript, no
 * esbuild, no tsx), which synthesizes a stack with two bouncers. Needs the
 * build (`npm run build`, which npm test's pretest runs): the test packs with
 * --ignore-scripts so that it checks exactly what was built.
 *
 * The app is examples/cdk-app/app.js itself, and the README's TypeScript stack
 * is type-checked against the installed package's .d.ts.
 *
 * Offline: the tarball installs from the file; aws-cdk-lib and constructs,
 * the peer dependencies, are linked from this repository's node_modules (one
 * copy of each, as a consumer's app has).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = join(__dirname, '..', '..');

/** The example consumer app (examples/cdk-app), plain JavaScript: two bouncers sharing a state table. */
const EXAMPLE_APP = join(REPO, 'examples', 'cdk-app', 'app.js');

/** The README's TypeScript stack ("Use it in your CDK app"), type-checked against the installed package. */
function readmeStack(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it in your CDK app'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README "Use it in your CDK app" has no ```ts block');
  return block[1];
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

describe('the npm package', () => {
  let work: string;
  let pack: PackResult;
  let template: { Resources: Record<string, Resource> };
  let cloudAssembly: string;

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'lib', 'index.js')) || !existsSync(join(REPO, 'dist', 'functions', 'receive', 'index.js'))) {
      throw new Error('dist/ is not built: run "npm run build" (npm test runs it first)');
    }
    work = mkdtempSync(join(tmpdir(), 'ses-bouncer-consumer-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO });
    [pack] = JSON.parse(stdout) as PackResult[];

    const app = join(work, 'app');
    require('node:fs').mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    writeFileSync(join(app, 'app.js'), readFileSync(EXAMPLE_APP));
    writeFileSync(join(app, 'stack.ts'), readmeStack());
    // --legacy-peer-deps: the peers are linked below instead of installed from the network.
    await run('npm', ['install', '--no-save', '--offline', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund', join(work, pack.filename)], { cwd: app });
    for (const peer of ['aws-cdk-lib', 'constructs']) symlinkSync(join(REPO, 'node_modules', peer), join(app, 'node_modules', peer), 'dir');

    cloudAssembly = join(work, 'cdk.out');
    // No PATH entries of the repository: nothing of its toolchain is reachable.
    await run(process.execPath, ['app.js'], { cwd: app, env: { PATH: '/usr/bin:/bin', HOME: work, CDK_OUTDIR: cloudAssembly } });
    template = JSON.parse(readFileSync(join(cloudAssembly, 'Mail.template.json'), 'utf8'));
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const fn = (prefix: string) => ofType('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))!;

  it("type-checks the README's TypeScript stack against the package's declarations", async () => {
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'node16', '--moduleResolution', 'node16', 'stack.ts'];
    await expect(run(process.execPath, [tsc, ...args], { cwd: join(work, 'app') })).resolves.toMatchObject({ stdout: '' });
  }, 120_000);

  it('holds only what a consumer needs: compiled lib with types, the pre-built functions, package.json and README', () => {
    const paths = pack.files.map((f) => f.path);
    const allowed = /^(package\.json|README\.md|cli\/bin\.js|dist\/(lib|lambda)\/.+\.(js|d\.ts)|dist\/functions\/[a-z]+\/(index\.js|node_modules\/(@[a-z-]+\/)?[a-z-]+\/index\.js))$/;
    expect(paths.filter((p) => !allowed.test(p))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/functions/receive/index.js', 'dist/functions/receive/node_modules/mailparser/index.js', 'dist/functions/send/index.js']));
    expect(paths.filter((p) => /(^|\/)test\/|\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    // README's "Use it in your CDK app" states the size and file count: they must stay true.
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const stated = /about ([\d.]+) MB\s+packed \(([\d.]+) MB unpacked, (\d+) files\)/.exec(readme);
    expect(stated).not.toBeNull();
    const [, packedMb, unpackedMb, files] = stated!;
    expect(Math.abs(pack.size / 1e6 - Number(packedMb))).toBeLessThan(0.1);
    expect(Math.abs(pack.unpackedSize / 1e6 - Number(unpackedMb))).toBeLessThan(0.2);
    expect(pack.entryCount).toBe(Number(files));
  });

  it('declares aws-cdk-lib and constructs as peers and has no runtime dependency', () => {
    const pkg = JSON.parse(readFileSync(join(work, 'app', 'node_modules', 'ses-bouncer', 'package.json'), 'utf8'));
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(pkg.dependencies ?? {}).toEqual({});
    // Nothing else was installed with it (no esbuild, no tsx, no local-mode packages).
    expect(readdirSync(join(work, 'app', 'node_modules')).filter((n) => !n.startsWith('.')).sort()).toEqual(['aws-cdk-lib', 'constructs', 'ses-bouncer']);
  });

  it('deploys the shipped function code unchanged: the consumer synth bundles nothing', () => {
    const [, receive] = fn('SupportReceiveFunction');
    const asset = join(cloudAssembly, `asset.${(receive.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
    expect(readFileSync(join(asset, 'index.js'))).toEqual(readFileSync(join(REPO, 'dist', 'functions', 'receive', 'index.js')));
    expect(existsSync(join(asset, 'node_modules', 'mailparser', 'index.js'))).toBe(true);
    expect(receive.Properties.Handler).toBe('index.handler');
    expect(readdirSync(cloudAssembly).filter((f) => f.startsWith('bundling-temp'))).toEqual([]);
  });

  it('gives the two bouncers distinct rule names; the first its own rule set, the second first in the existing set', () => {
    const rules = ofType('AWS::SES::ReceiptRule').map(([id, r]) => ({ id, set: r.Properties.RuleSetName, after: r.Properties.After, name: r.Properties.Rule.Name }));
    expect(rules).toHaveLength(2);
    expect(new Set(rules.map((r) => r.name)).size).toBe(2);
    const sets = ofType('AWS::SES::ReceiptRuleSet');
    expect(sets).toHaveLength(1);
    const support = rules.find((r) => r.id.startsWith('Support'))!;
    const sales = rules.find((r) => r.id.startsWith('Sales'))!;
    expect(support.set).toEqual({ Ref: sets[0][0] });
    expect(sets[0][1].Properties.RuleSetName).not.toBe('active-rule-set');
    expect(sales.set).toBe('active-rule-set');
    expect(sales.after).toBeUndefined();
    const [, salesRule] = ofType('AWS::SES::ReceiptRule').find(([id]) => id.startsWith('Sales'))!;
    expect(salesRule.Properties.Rule.Actions[1].LambdaAction.InvocationType).toBe('RequestResponse');
  });

  it('references the existing bucket and rule set instead of creating them', () => {
    const buckets = ofType('AWS::S3::Bucket');
    // Only Sales's own mail bucket: Support stores in the existing one. Each keeps its rule snapshots in its own bucket.
    expect(buckets.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['SalesMailBucket', 'SalesRulesSnapshotBucket', 'SupportRulesSnapshotBucket']);
    const [, supportRule] = ofType('AWS::SES::ReceiptRule').find(([id]) => id.startsWith('Support'))!;
    expect(supportRule.Properties.Rule.Actions[0]).toEqual({ S3Action: { BucketName: 'example-mail-archive', ObjectKeyPrefix: 'support/' } });
    expect(fn('SupportReceiveFunction')[1].Properties.Environment.Variables).toMatchObject({ MAIL_BUCKET: 'example-mail-archive', MAIL_PREFIX: 'support/' });
  });

  it('shares one state table and one rate gate key between both bouncers', () => {
    const tables = ofType('AWS::DynamoDB::Table').map(([id]) => id).filter((id) => id.includes('StateTable'));
    expect(tables).toHaveLength(1);
    for (const prefix of ['SupportReceiveFunction', 'SupportSendFunction', 'SalesReceiveFunction', 'SalesSendFunction']) {
      expect(fn(prefix)[1].Properties.Environment.Variables).toMatchObject({ STATE_TABLE: { Ref: tables[0] }, RATE_GATE_KEY: 'ses-sendbounce' });
    }
  });
});
