/**
 * The DynamoDB client of the CLI, built from the common flags. Credentials
 * come from the SDK's default chain (environment, `--profile` / AWS_PROFILE,
 * SSO, container and instance roles); the only exception is a loopback
 * `--endpoint-url` with no credentials configured at all, which gets local
 * mode's placeholder keys so that `ses-bouncer --endpoint-url
 * http://127.0.0.1:8000 ...` works against local mode without setup.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { didYouMean } from '../lambda/commons/did-you-mean';
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

/**
 * A one-line error when the profile named by `--profile` or AWS_PROFILE is in
 * neither shared file, checked before any AWS call (the SDK would only say
 * "Could not load credentials from any providers", after trying every other
 * source). Reads the files with the SDK's own loader, so AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE apply. Undefined when no profile is named or
 * it exists.
 */
export async function missingProfile(common: CommonOptions, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  const profile = common.profile ?? env.AWS_PROFILE;
  if (!profile) return undefined;
  let files: Awaited<ReturnType<typeof loadSharedConfigFiles>>;
  try {
    files = await loadSharedConfigFiles({ ignoreCache: true });
  } catch {
    return undefined; // unreadable files: let the SDK report what it finds
  }
  const known = [...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)])];
  if (known.includes(profile)) return undefined;
  const from = common.profile ? '--profile' : 'AWS_PROFILE';
  const listed = known.length > 0 ? `; profiles there: ${known.join(', ')}` : '; there are none';
  return `no profile named ${JSON.stringify(profile)} (${from}) in ~/.aws/config or ~/.aws/credentials${didYouMean(profile, known)}${listed}`;
}
