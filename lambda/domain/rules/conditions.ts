/**
 * Evaluation of a rule's conditions against one message, in three-valued
 * logic: a condition on data the pipeline did not read (size, attachments, a
 * header missing from a truncated block) is `UNKNOWN`, never a match. The
 * caller decides what an unknown rule means (see compile.ts).
 */
import { addressesIn } from '../../mail/address-list';
import { decodeEncodedWords } from '../../mail/encoded-words';
import type { MessageFacts } from '../model';
import { parseAddress, matchesAddress, type AddressPattern, type Glob, type ParsedAddress } from './pattern';
import type { Rule } from './rule-schema';

export const FALSE = 0;
export const TRUE = 1;
export const UNKNOWN = 2;
export type Truth = typeof FALSE | typeof TRUE | typeof UNKNOWN;

/** Lazily prepared, lower-cased views of one message's facts, shared by all rules and recipients. */
export class MessageView {
  private headerMap?: Map<string, string[]>;
  private senderAddress?: ParsedAddress;
  private fromAddresses?: ParsedAddress[];
  private names?: string[];
  private types?: string[];

  constructor(readonly facts: MessageFacts) {}

  get sender(): ParsedAddress {
    return (this.senderAddress ??= parseAddress(this.facts.sender));
  }

  /** Values of a header (lower-cased name), unfolded, lower-cased, each raw and decoded. */
  headerValues(name: string): readonly string[] {
    if (!this.headerMap) {
      const map = new Map<string, string[]>();
      for (const h of this.facts.headers) {
        const key = h.name.trim().toLowerCase();
        const unfolded = h.value.replace(/\r?\n[ \t]+/g, ' ').trim();
        const list = map.get(key) ?? [];
        list.push(unfolded.toLowerCase());
        // Decode before lower-casing: base64 is case-sensitive.
        const decoded = decodeEncodedWords(unfolded);
        if (decoded !== unfolded) list.push(decoded.toLowerCase());
        map.set(key, list);
      }
      this.headerMap = map;
    }
    return this.headerMap.get(name) ?? [];
  }

  get from(): readonly ParsedAddress[] {
    if (!this.fromAddresses) {
      const raw = this.facts.headers.filter((h) => h.name.trim().toLowerCase() === 'from').map((h) => h.value);
      this.fromAddresses = raw.flatMap(addressesIn).map(parseAddress);
    }
    return this.fromAddresses;
  }

  get attachmentNames(): readonly string[] | undefined {
    if (!this.facts.attachments) return undefined;
    return (this.names ??= this.facts.attachments.flatMap((a) => (a.filename ? [a.filename.toLowerCase()] : [])));
  }

  get attachmentTypes(): readonly string[] | undefined {
    if (!this.facts.attachments) return undefined;
    return (this.types ??= this.facts.attachments.map((a) => a.contentType.toLowerCase()));
  }
}

const anyGlob = (globs: readonly Glob[], values: readonly string[]): boolean => {
  for (const v of values) for (const g of globs) if (g.test(v)) return true;
  return false;
};

const anyAddress = (patterns: readonly AddressPattern[], addresses: readonly ParsedAddress[]): boolean => {
  for (const a of addresses) for (const p of patterns) if (matchesAddress(p, a)) return true;
  return false;
};

/** A header condition holds on a match; without one it fails only when the block is complete. */
function headerTruth(matched: boolean, view: MessageView): Truth {
  if (matched) return TRUE;
  return view.facts.headersComplete ? FALSE : UNKNOWN;
}

/**
 * Evaluates every condition but `recipients` (which the index already
 * checked). FALSE as soon as one condition fails; UNKNOWN when none fails but
 * one could not be decided from the facts at hand.
 */
export function conditionsHold(rule: Rule, view: MessageView): Truth {
  const facts = view.facts;
  let unknown = false;
  if (rule.verdicts) {
    for (const [name, accepted] of Object.entries(rule.verdicts)) {
      if (!accepted!.includes(facts.verdicts[name as keyof typeof facts.verdicts])) return FALSE;
    }
  }
  if (rule.senders && !anyAddress(rule.senders, [view.sender])) return FALSE;
  if (rule.minSizeBytes !== undefined || rule.maxSizeBytes !== undefined) {
    const size = facts.sizeBytes;
    if (size === undefined) unknown = true;
    else if ((rule.minSizeBytes !== undefined && size < rule.minSizeBytes) || (rule.maxSizeBytes !== undefined && size > rule.maxSizeBytes)) {
      return FALSE;
    }
  }
  const checks: Truth[] = [];
  if (rule.subject) checks.push(headerTruth(anyGlob(rule.subject, view.headerValues('subject')), view));
  if (rule.fromHeader) checks.push(headerTruth(anyAddress(rule.fromHeader, view.from), view));
  if (rule.headers) {
    for (const h of rule.headers) {
      const t = headerTruth(anyGlob(h.patterns, view.headerValues(h.name)), view);
      if (t === FALSE) return FALSE;
      checks.push(t);
    }
  }
  if (rule.attachmentNames) {
    const names = view.attachmentNames;
    checks.push(names === undefined ? UNKNOWN : anyGlob(rule.attachmentNames, names) ? TRUE : FALSE);
  }
  if (rule.attachmentTypes) {
    const types = view.attachmentTypes;
    checks.push(types === undefined ? UNKNOWN : anyGlob(rule.attachmentTypes, types) ? TRUE : FALSE);
  }
  for (const t of checks) {
    if (t === FALSE) return FALSE;
    if (t === UNKNOWN) unknown = true;
  }
  return unknown ? UNKNOWN : TRUE;
}
