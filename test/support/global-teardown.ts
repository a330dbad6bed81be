import { stopByPid } from '../../local/dynamodb/dynamodb-local';

/** Stops the DynamoDB Local that global setup started, whatever the tests did. */
export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.SES_BOUNCER_TEST_DYNAMODB_PID);
  if (Number.isInteger(pid) && pid > 0) await stopByPid(pid);
}
