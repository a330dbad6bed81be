/**
 * The DynamoDB client of the CLI, built from the common flags. Credentials
 * come from the SDK's default chain (environment, `--profile` / AWS_PROFILE,
 * SSO, container and instance roles); the only exception is a loopback
 * `--endpoint-url` with no credentials configured at all, which gets local
 * mode's placeholder keys so that `ses-bouncer --endpoint-url
 * http://127.0.0.1:8000 ...` works against local mode without setup.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb/dynamodb-local';
import type { CommonOptions } from './options';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True when the URL points at this machine (DynamoDB Local, local mode). */
export function isLoopback(endpointUrl: string | undefined): boolean {
  if (endpointUrl === undefined) return false;
  try {
    return LOOPBACK.has(new URL(endpointUrl).hostname);
  } catch {
    return false;
  }
}

/** Builds one DynamoDB client for the whole command. */
export function createDynamoDbClient(common: CommonOptions, env: Readonly<Record<string, string | undefined>>): DynamoDBClient {
  const local = isLoopback(common.endpointUrl);
  const hasCredentials = Boolean(common.profile || env.AWS_PROFILE || env.AWS_ACCESS_KEY_ID);
  const hasRegion = Boolean(common.region || env.AWS_REGION || env.AWS_DEFAULT_REGION);
  return new DynamoDBClient({
    ...(common.endpointUrl ? { endpoint: common.endpointUrl } : {}),
    ...(common.region ? { region: common.region } : local && !hasRegion ? { region: LOCAL_REGION } : {}),
    // The client-level profile is the SDK's own equivalent of AWS_PROFILE for this client.
    ...(common.profile ? { profile: common.profile } : {}),
    ...(local && !hasCredentials ? { credentials: { ...LOCAL_CREDENTIALS } } : {}),
  });
}

/** Where the client talks to, for error messages. */
export function whereOf(common: CommonOptions): string {
  if (common.endpointUrl) return ` at ${common.endpointUrl}`;
  return common.region ? ` in ${common.region}` : '';
}
