import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Account ids the AWS documentation reserves for examples. */
const EXAMPLE_ACCOUNTS = new Set(['123456789012', '111122223333', '444455556666', '000000000000']);

const root = join(__dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && !/\.(png|jpg|gz|zip)$/.test(f));
const read = (file: string): string => {
  try {
    return readFileSync(join(root, file), 'latin1');
  } catch {
    return ''; // deleted in the work tree
  }
};

describe('the repository', () => {
  it('holds no account id outside the documented example ids', () => {
    const found: string[] = [];
    for (const file of tracked) {
      for (const m of read(file).matchAll(/arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/g)) {
        if (!EXAMPLE_ACCOUNTS.has(m[1])) found.push(`${file}: ${m[1]}`);
      }
      for (const m of read(file).matchAll(/"?(?:account|Account|accountId|CDK_DEFAULT_ACCOUNT)"?\s*[:=]\s*"?(\d{12})/g)) {
        if (!EXAMPLE_ACCOUNTS.has(m[1])) found.push(`${file}: ${m[1]}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('holds no AWS access key or secret', () => {
    const found = tracked.filter((file) => /\b(AKIA|ASIA)[0-9A-Z]{16}\b|aws_secret_access_key\s*=\s*\S{20,}/.test(read(file)));
    expect(found).toEqual([]);
  });

  it('configures the stack with example values only', () => {
    const context = JSON.parse(read('cdk.json')).context as Record<string, unknown>;
    const values = JSON.stringify(context);
    expect(values).not.toMatch(/\d{12}/);
    for (const address of values.match(/[\w.+-]+@[\w.-]+/g) ?? []) expect(address).toMatch(/@example\.(com|org|net)$/);
  });
});
