import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { factsFor } from '../../support/facts';
import { compileRules, parseRule } from '../../../lambda/domain/rules';

const DIR = join(__dirname, '../../../examples/rules');
const load = (name: string) => JSON.parse(readFileSync(join(DIR, name), 'utf8'));

const NOW = new Date('2026-06-01T12:00:00Z');

describe('examples/rules', () => {
  it.each(readdirSync(DIR).filter((f) => f.endsWith('.json')))('%s is a valid rule without warnings', (file) => {
    const result = parseRule(load(file));
    expect(result).toMatchObject({ ok: true, warnings: [] });
  });

  it('former-employee bounces a tagged address of Jane with 5.1.1 once active', () => {
    const { rules } = compileRules([load('former-employee.json')]);
    expect(rules.evaluate(factsFor('Jane.Doe+hr@example.com'), NOW)[0]).toMatchObject({ action: 'bounce', bounce: { status: '5.1.1', action: 'failed' } });
    expect(rules.evaluate(factsFor('jane.doe@example.com'), new Date('2026-03-31T23:59:59Z'))[0].action).toBe('default');
  });

  it('retired-domain bounces the domain and its subdomains, not look-alikes', () => {
    const { rules } = compileRules([load('retired-domain.json')]);
    const decide = (r: string) => rules.evaluate(factsFor(r), NOW)[0].action;
    expect([decide('a@oldbrand.example'), decide('b@mail.oldbrand.example'), decide('c@notoldbrand.example')]).toEqual(['bounce', 'bounce', 'default']);
  });

  it('oversized-attachments bounces a large message with an archive, and needs size and body', () => {
    const { rules } = compileRules([load('oversized-attachments.json')]);
    expect(rules.needsFor(['support@example.com'])).toEqual({ headers: false, size: true, body: true });
    const big = factsFor('support@example.com', { sizeBytes: 12_000_000, attachments: [{ filename: 'logs.ZIP', contentType: 'application/zip', sizeBytes: 11_000_000 }] });
    const small = { ...big, sizeBytes: 1_000 };
    expect(rules.evaluate(big, NOW)[0]).toMatchObject({ action: 'bounce', bounce: { bounceType: 'MessageTooLarge', status: '5.3.4' } });
    expect(rules.evaluate(small, NOW)[0].action).toBe('default');
  });
});
