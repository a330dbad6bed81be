import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const { markedLast, timingSensitive } = require('./sequencer.js') as {
  markedLast: <T>(ordered: T[], isMarked: (t: T) => boolean) => T[];
  timingSensitive: (path: string) => boolean;
};

describe('test sequencer (timing-sensitive suites last)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sequencer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('recognises the mark only in the opening comment', () => {
    expect(timingSensitive(file('a.test.ts', '/**\n * Spacing.\n *\n * @timing-sensitive: why\n */\nimport x from "y";\n'))).toBe(true);
    expect(timingSensitive(file('b.test.ts', 'import x from "y";\n// @timing-sensitive later in the file\n'))).toBe(false);
    expect(timingSensitive(file('c.test.ts', '/** Plain. */\nconst s = "@timing-sensitive";\n'))).toBe(false);
  });

  it('moves marked tests to the end and keeps both groups in their order', () => {
    expect(markedLast(['big', 'pace-1', 'mid', 'pace-2', 'small'], (t) => t.startsWith('pace'))).toEqual([
      'big',
      'mid',
      'small',
      'pace-1',
      'pace-2',
    ]);
  });

  it('marks every suite that asserts a real-time gap at the SES stand-in', () => {
    for (const path of [
      'test/lambda/app/send-wiring.test.ts',
      'test/lambda/adapters/dynamodb/rate-gate.test.ts',
      'test/reliability/ses-faults.test.ts',
      'test/reliability/dynamodb-outage.test.ts',
      'test/reliability/duplicate-storm.test.ts',
      'test/integration/pipeline.test.ts',
    ]) {
      expect([path, timingSensitive(join(__dirname, '..', '..', path))]).toEqual([path, true]);
    }
  });
});
