import { startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local';

/**
 * Starts one DynamoDB Local for the whole jest run. Workers inherit the
 * endpoint through the environment; teardown stops the process by pid.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const db = await startDynamoDbLocal();
  process.env.SES_BOUNCER_TEST_DYNAMODB_ENDPOINT = db.endpoint;
  process.env.SES_BOUNCER_TEST_DYNAMODB_PID = String(db.pid);
  // Tests never reach AWS: give the SDK's default chain something local to find.
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  process.env.AWS_REGION ??= 'us-east-1';
  // Tests run on Node 20 (Lambda runs 22+); the SDK's upgrade notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.stdout.write(`\nDynamoDB Local up at ${db.endpoint} (pid ${db.pid}) in ${Date.now() - started} ms\n`);
}
