import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../lambda/commons/errors';
import { printable } from '../../lambda/commons/printable';
import { envelopeSender } from '../../lambda/domain/event/ses-event';
import type { SenderAuthPolicy } from '../../lambda/domain/model';
import { compileRules, shadowText, type RuleCompilation } from '../../lambda/domain/rules';
import { addressesIn } from '../../lambda/mail/address-list';
import { parseHeaderBlock, splitHeaderBlock } from '../../lambda/mail/header-block';
import { parseVerdictSpec, type VerdictOverrides } from '../../local/ses-event/build-event';
import type { Command, CommandContext } from '../command';
import { dryRun, type DryRunResult } from '../dry-run';
import { CommandError } from '../errors';
import { renderFields, renderTable } from '../format/table';
import { println, type TextSink } from '../io';
import { issueLines, readRuleItems } from '../rules-input';

const POLICIES: readonly SenderAuthPolicy[] = ['spf-pass', 'spf-or-dmarc-pass', 'none'];

/**
 * The envelope sender a message most likely had: its Return-Path (which the
 * final MTA writes from MAIL FROM), else the first From address.
 */
export function senderFromMessage(raw: Buffer): string | undefined {
  const headers = parseHeaderBlock(splitHeaderBlock(raw).headerBlock);
  const returnPath = headers.find((h) => h.name.toLowerCase() === 'return-path')?.value;
  if (returnPath !== undefined) return envelopeSender(returnPath);
  const from = headers.find((h) => h.name.toLowerCase() === 'from')?.value;
  return from === undefined ? undefined : addressesIn(from)[0];
}

async function loadRules(ctx: CommandContext): Promise<{ compilation: RuleCompilation; source: string }> {
  const file = ctx.args.string('rules');
  if (file !== undefined) {
    return { compilation: compileRules(await readRuleItems(file, ctx.io, true)), source: `file ${file}` };
  }
  if (!ctx.args.common.table) throw ctx.usageError('no rules: pass --rules FILE, or --table NAME (or SES_BOUNCER_RULES_TABLE) to use the table');
  const table = ctx.rulesTable();
  return { compilation: compileRules(await table.scan()), source: `table ${table.tableName}` };
}

function printText(out: TextSink, r: DryRunResult, rulesSource: string, compilation: RuleCompilation): void {
  const verdictText = (g: { allowed: boolean; reasons: readonly string[] }) => (g.allowed ? 'allowed' : `refused: ${g.reasons.join(', ')}`);
  const guard =
    r.guard !== null
      ? verdictText(r.guard)
      : r.shadowVerdict !== null && r.recipients.some((p) => p.shadow?.some((m) => m.action === 'bounce'))
        ? `${verdictText(r.shadowVerdict.guard)} for the shadow bounces (nothing is bounced)`
        : 'not run (no recipient is bounced)';
  const verdicts = Object.entries(r.verdicts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  println(out, 'Dry run: nothing was written and nothing was sent.');
  println(out);
  const fields: [string, string][] = [
    ['Message', r.messageId],
    ['Sender', r.sender === '' ? '<> (null reverse-path)' : r.sender],
    ['Size', `${r.sizeBytes} bytes as stored${r.headersTruncated ? ' (event headers truncated past 10 KB)' : ''}`],
    ['Attachments', r.attachments === null ? 'not read (no rule looks at them)' : r.attachments.length === 0 ? 'none' : r.attachments.map((a) => `${a.filename ?? '(unnamed)'} ${a.contentType} ${a.sizeBytes} B`).join(', ')],
    ['Verdicts', `${verdicts}${r.dmarcPolicy ? ` (dmarcPolicy ${r.dmarcPolicy})` : ''}`],
    ['Rules', `${rulesSource}: ${compilation.rules.size} enabled, ${compilation.disabled} disabled, ${compilation.invalid.length} invalid (skipped)`],
    ['Guard', `${guard} (policy ${r.policy.senderAuth}; the state table's per-sender budget is not consulted in a dry run)`],
  ];
  for (const line of renderFields(fields)) println(out, line);
  println(out);
  // Shadow matches are judged by the shadow verdict (nothing really bounced), else by the real guard.
  const verdict = r.shadowVerdict ?? (r.guard ? { guard: r.guard } : undefined);
  const rows = r.recipients.map((p) => {
    const outcome =
      p.decision === 'drop' ? 'drop (no DSN)' : p.decision !== 'bounce' ? 'deliver' : r.outcome === 'queued' ? 'bounce' : 'no bounce (guard)';
    const bounce = p.bounce ? `${p.bounce.bounceType} ${p.bounce.status} ${p.bounce.action}` : '-';
    const rule = p.ruleId ?? (p.heldBy === undefined ? '(no rule matched)' : `(bounce held by invalid rule ${p.heldBy})`);
    const shadow = (p.shadow ?? []).map((m) => shadowText(m, verdict)).join(', ') || '-';
    return [p.recipient, p.decision, rule, bounce, outcome, shadow];
  });
  for (const line of renderTable(['RECIPIENT', 'DECISION', 'RULE', 'BOUNCE', 'OUTCOME', 'SHADOW'], rows)) println(out, line);
  println(out);
  if (r.sendBounceRequest) {
    println(out, 'SendBounce request that would be sent:');
    println(out, JSON.stringify(r.sendBounceRequest, null, 2));
  } else if (r.requestError) {
    println(out, `No SendBounce request: the send function would refuse it: ${printable(r.requestError)}`);
  } else if (!r.recipients.some((p) => p.decision === 'bounce')) {
    const shadowed = r.recipients.some((p) => p.shadow?.some((m) => m.action === 'bounce'));
    println(out, `No SendBounce request: no recipient is bounced${shadowed ? ' (shadow matches are only recorded)' : ''}.`);
  } else {
    println(out, `No SendBounce request: the guard refuses to bounce (${r.guard?.reasons.join(', ')}).`);
  }
}

/** `test`: a dry run of one .eml through rules, guard and the bounce builder. */
export const testCommand: Command = {
  spec: {
    name: 'test',
    summary: 'dry-run a message (.eml) through the rules, the guard and the bounce builder',
    help: `Usage: ses-bouncer test --eml FILE --recipient ADDR [--recipient ADDR ...] [options]

Runs one message through the receive function's own code with in-memory
stand-ins for its tables, bucket and queue (no writes, no SendBounce): builds
the SES event as local mode does, decides every recipient, runs the sender
guard and builds the exact SendBounce request the send function would make.
Size and attachments come from the .eml itself. The state table's per-sender
budget is not consulted.

Options:
  --eml FILE              the raw message (RFC 5322)
  --recipient ADDR        envelope recipient (RCPT TO); repeat for several
  --sender ADDR           envelope sender (MAIL FROM); '<>' or '' for the null
                          sender (default: the Return-Path, else From, of the .eml)
  --verdicts SPEC         SES verdicts, e.g. spf=FAIL,spam=PASS,dmarc=FAIL,dmarcPolicy=reject
                          (default: all PASS; an X-Ses-Bouncer-Simulate header in the .eml also applies)
  --rules FILE|DIR        rules from a JSON file (or every *.json of a directory) instead of the table
  --policy POLICY         sender authentication: spf-pass (default), spf-or-dmarc-pass, none
  --bounce-sender ADDR    BounceSender (default, as in local mode: mailer-daemon@<domain of the first bounced recipient>)
  --bounce-sender-arn ARN BounceSenderArn (default: none)
  --reporting-mta HOST    Reporting-MTA host (default, as in local mode: inbound-smtp.<domain of the first bounced recipient>)
  --message-id ID         SES message id to use (default: a fresh one)
  --shadow                stack-wide shadow mode, as the construct's shadow prop:
                          every bounce and drop is shown as a shadow match
  --json                  print one JSON document instead of text

Examples:
  ses-bouncer test --eml mail.eml --recipient former@example.com --rules local/seed-rules.json
  ses-bouncer test --eml mail.eml --recipient former@example.com --verdicts spf=FAIL --json --table ses-bouncer-rules`,
    flags: {
      eml: { type: 'string' },
      recipient: { type: 'string', multiple: true },
      sender: { type: 'string' },
      verdicts: { type: 'string' },
      rules: { type: 'string' },
      policy: { type: 'string' },
      'bounce-sender': { type: 'string' },
      'bounce-sender-arn': { type: 'string' },
      'reporting-mta': { type: 'string' },
      'message-id': { type: 'string' },
      shadow: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    positionals: { min: 0, max: 0 },
  },
  async run(ctx) {
    const { args, io } = ctx;
    const emlPath = args.string('eml');
    if (!emlPath) throw ctx.usageError('--eml FILE is required');
    const recipients = args.strings('recipient').map((r) => r.trim()).filter(Boolean);
    if (recipients.length === 0) throw ctx.usageError('at least one --recipient ADDR is required');
    const policy = (args.string('policy') ?? 'spf-pass') as SenderAuthPolicy;
    if (!POLICIES.includes(policy)) throw ctx.usageError(`--policy must be one of ${POLICIES.join(', ')} (got ${JSON.stringify(policy)})`);
    let verdicts: VerdictOverrides | undefined;
    const spec = args.string('verdicts');
    if (spec !== undefined) {
      try {
        verdicts = parseVerdictSpec(spec);
      } catch (error) {
        if (error instanceof ValidationError) throw ctx.usageError(`--verdicts: ${error.message}`);
        throw error;
      }
    }

    let raw: Buffer;
    try {
      raw = await readFile(emlPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CommandError(`cannot read --eml ${JSON.stringify(emlPath)}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
    }
    const given = args.string('sender');
    const sender = given !== undefined ? envelopeSender(given) : senderFromMessage(raw);
    if (sender === undefined) throw ctx.usageError(`${emlPath} has no Return-Path or From: pass --sender ADDR (or --sender '<>' for the null sender)`);

    const { compilation, source } = await loadRules(ctx);
    for (const line of issueLines(compilation)) println(io.stderr, `warning: invalid rule skipped: ${line}`);

    let result: DryRunResult;
    try {
      result = await dryRun({
        raw,
        sender,
        recipients,
        verdicts,
        messageId: args.string('message-id'),
        receivedAt: new Date(),
        rules: compilation.rules,
        policy: { senderAuth: policy },
        bounceSender: args.string('bounce-sender'),
        bounceSenderArn: args.string('bounce-sender-arn'),
        reportingMta: args.string('reporting-mta'),
        shadowMode: args.flag('shadow'),
      });
    } catch (error) {
      // A malformed simulate header in the message, or an event the receive schema refuses.
      if (error instanceof ValidationError) throw new CommandError(error.message, { cause: error });
      throw error;
    }
    if (args.flag('json')) println(io.stdout, JSON.stringify(result, null, 2));
    else printText(io.stdout, result, source, compilation);
    return 0;
  },
};
