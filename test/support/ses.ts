/** The SES client tests point at a SES stand-in: local keys, one attempt (the use case decides on retries). */
import { SESClient } from '@aws-sdk/client-ses';
import type { SesStandIn } from '../../local/ses-stand-in/types';

export function sesClientFor(standIn: Pick<SesStandIn, 'endpoint'>): SESClient {
  return new SESClient({ endpoint: standIn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}
