/**
 * Figure 2 — decision cost on the allowed path: the receive use case with
 * 10,000 rules (9,000 exact, 900 domains, 100 wildcards) and in-memory
 * ports, for a message none of whose recipients is bounced. Each message is
 * timed on its own; JSON.parse of the same event text is timed the same way,
 * interleaved, as the baseline.
 */
import { receiveMessage } from '../lambda/app/receive-message';
import { MemoryMailStore } from '../lambda/adapters/memory/mail-store';
import { MemoryRuleSource } from '../lambda/adapters/memory/rule-source';
import { parseSesEvent, toMessageFacts } from '../lambda/domain/event/ses-event';
import { exactAddress, ruleDomain, ruleItems, sesEvent } from './lib/fixtures';
import { memoryReceiveDeps } from './lib/receive-deps';
import type { Benchmark } from './lib/result';
import { fmt, summarize } from './lib/stats';

const P99_TARGET_MS = 0.5;

export const decisionCost: Benchmark = async ({ quick, log }) => {
  const messages = quick ? 5_000 : 20_000;
  const warmup = quick ? 1_000 : 3_000;
  const mix = { exact: 9_000, domains: 900, wildcards: 100 };
  const rules = new MemoryRuleSource(ruleItems(mix));
  const compiled = await rules.current();
  if (compiled.size !== 10_000) throw new Error(`expected 10000 valid rules, compiled ${compiled.size}`);

  const mail = new MemoryMailStore();
  const deps = memoryReceiveDeps(rules, mail);
  const { ledger, queue } = deps;
  // Allowed path: an exact allow rule, a domain rule whose subject does not
  // match (header-only), and an address no rule names; all 100 wildcards are tried for each.
  const recipients = [exactAddress(1), `alice@${ruleDomain(7)}`, 'nobody@unlisted.example'];
  const eventText = JSON.stringify(sesEvent({ messageId: 'bench-allowed-0001', recipients, subject: 'Quarterly report' }));

  const parseMs: number[] = [];
  const caseMs: number[] = [];
  const validateAndCaseMs: number[] = [];
  log(`decision cost: ${messages} messages after ${warmup} warm-up`);
  for (let i = 0; i < warmup + messages; i++) {
    const t0 = process.hrtime.bigint();
    const raw = JSON.parse(eventText) as unknown;
    const t1 = process.hrtime.bigint();
    const record = parseSesEvent(raw).Records[0];
    const t2 = process.hrtime.bigint();
    const result = await receiveMessage(deps, record);
    const t3 = process.hrtime.bigint();
    if (result.outcome.kind !== 'no-bounce') throw new Error(`allowed-path message was ${result.outcome.kind}`);
    if (i < warmup) continue;
    parseMs.push(Number(t1 - t0) / 1e6);
    caseMs.push(Number(t3 - t2) / 1e6);
    validateAndCaseMs.push(Number(t3 - t1) / 1e6);
  }
  if (mail.calls.length > 0 || ledger.all().length > 0 || queue.jobs.length > 0) {
    throw new Error('the allowed path read the mail store or wrote state: the figure would not be the allowed path');
  }
  const decisions = compiled.evaluate(toMessageFacts(parseSesEvent(JSON.parse(eventText)).Records[0]), new Date());

  const base = summarize(parseMs);
  const uc = summarize(caseMs);
  const full = summarize(validateAndCaseMs);
  const us = (ms: number) => `${fmt(ms * 1000)} µs`;
  return {
    id: 'decision-cost',
    title: '2. Decision cost on the allowed path (10,000 rules, in-memory ports)',
    rows: [
      {
        measure: 'receive use case per message: p50 / p99',
        value: `${us(uc.median)} / ${us(uc.p99)} (p10–p90 ${us(uc.p10)}–${us(uc.p90)})`,
        baseline: `JSON.parse of the event: ${us(base.median)} / ${us(base.p99)}`,
        target: `p99 ≤ ${P99_TARGET_MS} ms`,
        met: uc.p99 <= P99_TARGET_MS,
      },
      {
        measure: 'schema validation + use case per message: p50 / p99',
        value: `${us(full.median)} / ${us(full.p99)}`,
        baseline: `JSON.parse: ${us(base.median)} / ${us(base.p99)}`,
      },
      { measure: 'ratio of medians, use case / JSON.parse', value: `${fmt(uc.median / base.median)}×` },
    ],
    notes: [
      `${messages} messages timed one by one after ${warmup} warm-up; event of ${eventText.length} bytes, ${recipients.length} recipients: ${decisions.map((d) => d.action).join(', ')}.`,
      'Rules compiled once (the cached RuleSource state of a warm function); log and metric sinks are no-ops, so stdout is not measured.',
      'Use case = receiveMessage on the validated record: facts, needsFor, evaluate (100 wildcards tried per recipient), no claim, no write.',
    ],
    data: { mix, eventBytes: eventText.length, jsonParseMs: base, useCaseMs: uc, validateAndUseCaseMs: full },
  };
};
