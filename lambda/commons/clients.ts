import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config/config';

/** One SDK client per service, built once per process from config. */
export interface Clients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ses: SESClient;
}

/**
 * Builds the clients. Endpoint overrides (local mode, tests) come from config;
 * on AWS the SDK's default region and credential chain apply.
 *
 * The SES client makes one attempt only: Throttling is answered by the rate
 * gate with a later slot, and retrying inside the SDK would break the pace.
 */
export function createClients(config: Config): Clients {
  const local = (endpoint?: string) => (endpoint ? { endpoint } : {});
  return {
    dynamodb: new DynamoDBClient({ ...local(config.endpoints.dynamodb) }),
    s3: new S3Client({ ...local(config.endpoints.s3), forcePathStyle: Boolean(config.endpoints.s3) }),
    sqs: new SQSClient({ ...local(config.endpoints.sqs) }),
    ses: new SESClient({ ...local(config.endpoints.ses), maxAttempts: 1 }),
  };
}
