import { encodeBounceJob, InvalidBounceJobError, parseBounceJob } from '../../../../lambda/adapters/sqs/bounce-job';
import { ValidationError } from '../../../../lambda/commons/errors';
import type { BounceJob } from '../../../../lambda/ports';

const valid = {
  messageId: 'msg-0001',
  receivedAt: '2026-11-26T10:00:00.000Z',
  sender: '',
  recipients: [{ recipient: 'bob@example.com', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', explanation: 'gone' } }],
};

function fieldOf(body: string): string | undefined {
  try {
    parseBounceJob(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidBounceJobError);
    expect(error).toBeInstanceOf(ValidationError);
    return (error as InvalidBounceJobError).field;
  }
  throw new Error('expected the body to be refused');
}

describe('bounce-job', () => {
  describe('parseBounceJob', () => {
    it('returns the job when the body is a valid job', () => {
      expect(parseBounceJob(JSON.stringify(valid))).toEqual(valid);
    });

    it('accepts a receipt time with an offset', () => {
      expect(parseBounceJob(JSON.stringify({ ...valid, receivedAt: '2026-11-26T10:00:00+02:00' })).receivedAt).toBe('2026-11-26T10:00:00+02:00');
    });

    it('refuses a body that is not JSON', () => {
      expect(() => parseBounceJob('not json')).toThrow('bounce job body is not json (starts with "not json")');
    });

    it('names the field when the job has no recipients', () => {
      expect(fieldOf(JSON.stringify({ ...valid, recipients: [] }))).toBe('recipients');
    });

    it('names the field when a bounce type is unknown', () => {
      const bad = { ...valid, recipients: [{ ...valid.recipients[0], bounce: { ...valid.recipients[0].bounce, bounceType: 'Nope' } }] };
      expect(fieldOf(JSON.stringify(bad))).toBe('recipients.0.bounce.bounceType');
    });

    it('names the field when the receipt time is not ISO 8601', () => {
      expect(fieldOf(JSON.stringify({ ...valid, receivedAt: 'Mon, 05 Aug 2019' }))).toBe('receivedAt');
    });

    it('names the field when the message id is missing', () => {
      const { messageId: _, ...rest } = valid;
      expect(fieldOf(JSON.stringify(rest))).toBe('messageId');
    });
  });

  describe('encodeBounceJob', () => {
    it('stores a rule\'s bounce texts once and reads back the same job', () => {
      const bounce = { ...valid.recipients[0].bounce, diagnosticCode: `smtp; 550 ${'d'.repeat(2000)}` };
      const job = { ...valid, recipients: Array.from({ length: 100 }, (_, i) => ({ recipient: `u${i}@example.com`, ruleId: 'r1', bounce })) };
      const body = encodeBounceJob(job as BounceJob);
      expect(body.split('d'.repeat(2000))).toHaveLength(2);
      expect(Buffer.byteLength(body)).toBeLessThan(10_000);
      expect(parseBounceJob(body)).toEqual(job);
    });

    it('still reads a job queued before the compact form (the spec inline per recipient)', () => {
      expect(parseBounceJob(JSON.stringify(valid))).toEqual(valid);
    });

    it('refuses a compact job whose recipient names a rule it does not carry', () => {
      const body = JSON.stringify({ ...valid, bounces: {}, recipients: [{ recipient: 'bob@example.com', ruleId: 'r9' }] });
      expect(fieldOf(body)).toBe('recipients.0.bounce');
    });
  });
});
