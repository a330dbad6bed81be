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

/** Endpoint override (local mode, tests); on AWS the SDK's default region and credential chain apply. */
const endpointOf = (endpoint?: string) => (endpoint ? { endpoint } : {});

/**
 * Per-attempt limits of DynamoDB and SQS requests. Without them a hung
 * connection holds a send job (possibly SENDING) until the function's
 * timeout; with them one request, the SDK's 3 attempts and its backoff
 * included, ends within the send path's `opMaxMs` (12 s). A retried write
 * is safe: the ledger recognises its own write (write token), the rate gate
 * transaction carries an idempotency token.
 */
export const REQUEST_LIMITS = Object.freeze({ connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true });

/** The DynamoDB client (rules, state table). */
export function createDynamoDbClient(config: Config): DynamoDBClient {
  return new DynamoDBClient({ ...endpointOf(config.endpoints.dynamodb), maxAttempts: 3, requestHandler: { ...REQUEST_LIMITS } });
}

/** The S3 client (stored mail); path-style when pointed at a local endpoint. */
export function createS3Client(config: Config): S3Client {
  return new S3Client({ ...endpointOf(config.endpoints.s3), forcePathStyle: Boolean(config.endpoints.s3) });
}

/** The SQS client (bounce queue). */
export function createSqsClient(config: Config): SQSClient {
  return new SQSClient({ ...endpointOf(config.endpoints.sqs), maxAttempts: 3, requestHandler: { ...REQUEST_LIMITS } });
}

/** A SendBounce call that has not connected within this long certainly sent nothing: it may be retried. */
export const SES_CONNECTION_TIMEOUT_MS = 2_000;

/**
 * The SES client. It makes one attempt only: Throttling is answered by the
 * rate gate with a later slot, and retrying inside the SDK would break the
 * pace, or send a bounce twice after a lost answer. Every call ends within
 * `sesRequestTimeoutMs` (the SDK only warns past `requestTimeout` unless told
 * to throw): a hung call must not run into the function's timeout while the
 * job is SENDING.
 */
export function createSesClient(config: Pick<Config, 'endpoints' | 'sesRequestTimeoutMs'>): SESClient {
  return new SESClient({
    ...endpointOf(config.endpoints.ses),
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: Math.min(SES_CONNECTION_TIMEOUT_MS, config.sesRequestTimeoutMs),
      requestTimeout: config.sesRequestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * Builds every client (local mode, tests). A Lambda entry builds only the
 * clients its function uses through the single-service factories above: the
 * SDK packages are side-effect free, so a client no handler constructs is
 * left out of that function's bundle and never loaded at its cold start.
 */
export function createClients(config: Config): Clients {
  return {
    dynamodb: createDynamoDbClient(config),
    s3: createS3Client(config),
    sqs: createSqsClient(config),
    ses: createSesClient(config),
  };
}
