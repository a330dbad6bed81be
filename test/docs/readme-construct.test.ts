import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Use it in your CDK app'), readme.indexOf('## Rules'));

/** The props of SesBouncerProps, read from its declaration. */
function declaredProps(): string[] {
  const source = readFileSync(join(ROOT, 'lib', 'props.ts'), 'utf8');
  const body = source.slice(source.indexOf('export interface SesBouncerProps {'), source.indexOf('\n}\n', source.indexOf('export interface SesBouncerProps {')));
  return [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]);
}

describe('README.md "Use it in your CDK app"', () => {
  it('has a props table row naming every prop of SesBouncerProps', () => {
    const props = declaredProps();
    expect(props.length).toBeGreaterThan(25);
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    for (const prop of props) expect(rows.filter((row) => row.split('|')[1].includes(`\`${prop}\``))).toHaveLength(1);
  });

  it('tells the install command and points at the example app that exists', () => {
    expect(section).toContain('npm install ses-bouncer');
    expect(readFileSync(join(ROOT, 'examples', 'cdk-app', 'app.js'), 'utf8')).toContain("require('ses-bouncer')");
  });
});
