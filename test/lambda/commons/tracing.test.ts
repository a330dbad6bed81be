/**
 * loadTracer with the real Powertools Tracer. Outside Lambda (no
 * AWS_EXECUTION_ENV) the Tracer disables itself: the handlers' work must run
 * exactly as without tracing, errors included, and the SDK clients keep
 * working.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { loadTracer } from '../../../lambda/commons/tracing';
import { dynamoDbEndpoint } from '../../support/dynamodb';

describe('tracing', () => {
  describe('loadTracer', () => {
    it('runs the work and returns its value, and lets its error through, when there is no X-Ray segment', async () => {
      const tracer = await loadTracer('ses-bouncer', []);
      await expect(tracer.trace('## receive', async () => 42)).resolves.toBe(42);
      const failure = new Error('boom');
      await expect(tracer.trace('message', async () => Promise.reject(failure))).rejects.toBe(failure);
      expect(() => tracer.annotate('messageId', 'm-1')).not.toThrow();
    });

    it('leaves the clients it patches working, enabled as in Lambda but with no segment to record into', async () => {
      const client = new DynamoDBClient({ endpoint: dynamoDbEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const saved = { ...process.env };
      // The Tracer enables itself (and patches) in a Lambda execution environment; without the X-Ray context it must not fail.
      Object.assign(process.env, { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' });
      const tracer = await loadTracer('ses-bouncer', [client]).finally(() => {
        process.env = saved;
      });
      const tables = await tracer.trace('## sweep', () => client.send(new ListTablesCommand({})));
      expect(Array.isArray(tables.TableNames)).toBe(true);
      client.destroy();
    });
  });
});
