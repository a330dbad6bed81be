import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDbMessageLedger } from '../../lambda/adapters/dynamodb/message-ledger';
import type { AuditRecord } from '../../lambda/ports';
import { whereOf } from '../aws';
import type { Command } from '../command';
import { CommandError } from '../errors';
import { auditLines } from '../format/audit';
import { println } from '../io';

/** `explain MESSAGE_ID`: the audit record of one message, readable. */
export const explainCommand: Command = {
  spec: {
    name: 'explain',
    summary: 'show the audit record of one message (decisions, guard, state)',
    help: `Usage: ses-bouncer explain MESSAGE_ID [--json] [options]

Reads the audit record the receive function wrote for the SES message id (the
messageId of the SES event, also the S3 object key suffix) from the state table
and prints it: state, received time, envelope sender, each recipient's decision
with the ruleId and bounce fields, the shadow rules that matched before it
(what they would have done), the guard's reasons, send attempts, the
MessageId SES gave the bounce, and timestamps. Only messages with a bounce,
a drop or a shadow match have a record (state DROPPED or SHADOW for the last
two, SHADOW with what the guard and the sender budget would have said); it
is kept for AUDIT_TTL_DAYS (default 30).

Options:
  --json    print the record as JSON

Example:
  ses-bouncer explain 0000014a-f4d4-4f89-93fb-2ab2b5b5fd4a --state-table ses-bouncer-state`,
    flags: { json: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
  },
  async run(ctx) {
    const messageId = ctx.args.positionals[0];
    const tableName = ctx.stateTableName();
    const ledger = new DynamoDbMessageLedger({ client: ctx.dynamodb(), tableName });
    let record: AuditRecord | undefined;
    try {
      record = await ledger.get(messageId);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CommandError(`state table ${JSON.stringify(tableName)} does not exist${whereOf(ctx.args.common)}`, { cause: error });
      }
      throw error;
    }
    if (!record) throw new CommandError(`no audit record for ${messageId} (allowed mail writes none, or the TTL expired)`);
    if (ctx.args.flag('json')) println(ctx.io.stdout, JSON.stringify(record, null, 2));
    else for (const line of auditLines(record)) println(ctx.io.stdout, line);
    return 0;
  },
};
