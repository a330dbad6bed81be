import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');

/** Runs the app as `cdk synth` does (cdk.json's "app"), with the context the CLI would pass. */
function runApp(context: Record<string, unknown>): Promise<{ code: number | null; stderr: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'ses-bouncer-app-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [require.resolve('tsx/cli'), 'bin/ses-bouncer.ts'],
      { cwd: REPO, env: { PATH: process.env.PATH ?? '', CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) } },
      (err, _stdout, stderr) => {
        rmSync(outdir, { recursive: true, force: true });
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr });
      },
    );
  });
}

describe('bin/ses-bouncer.ts', () => {
  it('stops a synth without recipients with one line naming the context key, no stack trace', async () => {
    const { code, stderr } = await runApp({});
    expect(code).toBe(1);
    expect(stderr).toBe('ses-bouncer: context ses-bouncer:recipients is required: pass -c ses-bouncer:recipients=example.com or set it in cdk.json\n');
  }, 60_000);

  it('names the context key the user typed for a bad value', async () => {
    const { code, stderr } = await runApp({ 'ses-bouncer:recipients': 'example.com', 'ses-bouncer:bounceSender': 'mailer-daemon@example.com', 'ses-bouncer:receiveMemoryMb': '64' });
    expect(code).toBe(1);
    expect(stderr).toBe('ses-bouncer: context ses-bouncer:receiveMemoryMb must be a whole number from 128 to 10240 (got 64)\n');
  }, 60_000);
});
