/**
 * The rule pattern language: case-insensitive globs with `*` (any run,
 * including none) and `?` (exactly one UTF-16 code unit), plus the address
 * shortcuts of recipient/sender/From patterns.
 *
 * No regular expression is ever built from an operator's text. A glob is split
 * at its stars into segments; the first is anchored at the start, the last at
 * the end, and the middle ones are found greedily left to right, which is
 * correct for `*`-separated globs because taking the leftmost occurrence of a
 * segment never removes a way to place the ones after it. Each input character
 * is scanned once per search: segments without `?` use `indexOf`, segments
 * with `?` use a bit-parallel Shift-And search (one 32-bit word per 32 pattern
 * characters). Matching therefore costs O(n · ⌈m/32⌉ + m) for an input of n
 * and a pattern of m characters — linear in the input, whatever the pattern.
 */

import { getDomain } from 'tldts';

/** Longest pattern accepted; keeps the per-character work of matching small and bounded. */
export const MAX_PATTERN_LENGTH = 512;

/** One star-free piece of a glob. */
interface Segment {
  readonly text: string;
  /** Present only when the segment has `?`: Shift-And masks per character. */
  readonly shiftAnd?: ShiftAndTable;
}

interface ShiftAndTable {
  readonly words: number;
  /** Mask of a character that appears in the segment (its positions plus the `?` positions). */
  readonly byChar: ReadonlyMap<string, Uint32Array>;
  /** Mask of any other character: only the `?` positions. */
  readonly wildcardOnly: Uint32Array;
}

function buildShiftAnd(text: string): ShiftAndTable {
  const words = Math.ceil(text.length / 32);
  const wildcardOnly = new Uint32Array(words);
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '?') wildcardOnly[i >> 5] |= 1 << (i & 31);
  }
  const byChar = new Map<string, Uint32Array>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '?') continue;
    let mask = byChar.get(c);
    if (!mask) {
      mask = Uint32Array.from(wildcardOnly);
      byChar.set(c, mask);
    }
    mask[i >> 5] |= 1 << (i & 31);
  }
  return { words, byChar, wildcardOnly };
}

/** True when `segment` matches `value` at exactly `at` (`?` matches any one character). */
function matchesAt(segment: string, value: string, at: number): boolean {
  if (at < 0 || at + segment.length > value.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const p = segment.charCodeAt(i);
    if (p !== 63 /* ? */ && p !== value.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Leftmost start ≥ `from` where the segment fits entirely before `limit`, or -1. */
function findSegment(segment: Segment, value: string, from: number, limit: number): number {
  const m = segment.text.length;
  if (m === 0) return from <= limit ? from : -1;
  if (!segment.shiftAnd) {
    const at = value.indexOf(segment.text, from);
    return at >= 0 && at + m <= limit ? at : -1;
  }
  const { words, byChar, wildcardOnly } = segment.shiftAnd;
  const state = new Uint32Array(words);
  const lastWord = (m - 1) >> 5;
  const lastBit = 1 << ((m - 1) & 31);
  for (let i = from; i < limit; i++) {
    const mask = byChar.get(value[i]) ?? wildcardOnly;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const next = state[w] >>> 31;
      state[w] = ((state[w] << 1) | carry) & mask[w];
      carry = next;
    }
    if (state[lastWord] & lastBit) return i - m + 1;
  }
  return -1;
}

/**
 * A compiled, case-insensitive glob. The whole value must match: write
 * `*word*` to find a word anywhere.
 */
export class Glob {
  /** The pattern as written, lower-cased. */
  readonly source: string;
  /** True when the pattern has no `*` or `?`. */
  readonly isLiteral: boolean;
  private readonly segments: readonly Segment[];

  private constructor(source: string) {
    this.source = source;
    this.isLiteral = !source.includes('*') && !source.includes('?');
    // Runs of stars mean the same as one star.
    const parts = this.isLiteral ? [source] : source.replace(/\*+/g, '*').split('*');
    this.segments = parts.map((text) => (text.includes('?') ? { text, shiftAnd: buildShiftAnd(text) } : { text }));
  }

  /** Compiles a pattern; it is lower-cased here, so callers pass values lower-cased too. */
  static compile(pattern: string): Glob {
    return new Glob(pattern.toLowerCase());
  }

  /** True when the whole of `value` (already lower-cased) matches. */
  test(value: string): boolean {
    const segs = this.segments;
    if (segs.length === 1) return value.length === segs[0].text.length && matchesAt(segs[0].text, value, 0);
    const first = segs[0].text;
    const last = segs[segs.length - 1].text;
    const end = value.length - last.length;
    if (end < first.length) return false;
    if (!matchesAt(first, value, 0) || !matchesAt(last, value, end)) return false;
    let pos = first.length;
    for (let i = 1; i < segs.length - 1; i++) {
      const at = findSegment(segs[i], value, pos, end);
      if (at < 0) return false;
      pos = at + segs[i].text.length;
    }
    return true;
  }
}

/** Case-insensitive whole-value glob match, compiling the pattern on the fly. */
export function globMatches(pattern: string, value: string): boolean {
  return Glob.compile(pattern).test(value.toLowerCase());
}

// Control characters, including CR/LF: they never occur in values a pattern could mean.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks a plain glob (subject, header, attachment patterns); returns a reason or undefined. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (CONTROL.test(pattern)) return `pattern ${JSON.stringify(pattern)} contains a control character`;
  return undefined;
}

/** How an address pattern can be found in the rule index. */
export type AddressPatternKind =
  /** Literal local part and domain: indexed by the full address. */
  | 'exact'
  /** Any local part at one literal domain: indexed by domain. */
  | 'domain'
  /** Glob local part at one literal domain: indexed by domain, local part checked. */
  | 'domain-local'
  /** Any local part at any subdomain of a literal domain (`*.example.com`): indexed by parent domain. */
  | 'subdomain'
  /** Anything else: checked one by one. */
  | 'wildcard';

/**
 * A compiled address pattern.
 * - `example.com`, `@example.com`, `*@example.com`: every address at exactly that domain.
 * - `*.example.com`: every address at any subdomain (not the domain itself).
 * - `alice@example.com`: that address, and `alice+tag@example.com` (plus-addressing),
 *   unless the pattern's local part itself contains `+`.
 * - `*`: every address.
 *
 * Only the parts a kind needs are built: an exact address or a domain (the
 * bulk of a large rule set) is its `key` string alone, with no glob; a glob
 * local part keeps its {@link Glob}, a subdomain or wildcard domain too.
 */
export interface AddressPattern {
  readonly source: string;
  readonly kind: AddressPatternKind;
  /** `domain-local` and `wildcard` patterns with a local-part glob; undefined: any local part (or, for `exact`, the one in `key`). */
  readonly local?: Glob;
  /** `subdomain` and `wildcard` patterns only; the others have a literal domain in `key`. */
  readonly domain?: Glob;
  /** Index key: the address (`exact`), the domain (`domain`, `domain-local`) or the parent domain (`subdomain`). */
  readonly key?: string;
  /** Also try the local part without its `+tag`. */
  readonly plusAware: boolean;
}

/** The kinds of address pattern, for readers of stored patterns. */
export const ADDRESS_PATTERN_KINDS: readonly AddressPatternKind[] = ['exact', 'domain', 'domain-local', 'subdomain', 'wildcard'];

const ADDRESS_FORBIDDEN = /[\s<>,;"()[\]\\]/;
/** {@link CONTROL} or {@link ADDRESS_FORBIDDEN}, in one pass over the text. */
const NOT_IN_ADDRESS_PATTERN = new RegExp(`${CONTROL.source}|${ADDRESS_FORBIDDEN.source}`);

/**
 * Parses an address pattern. Returns the pattern, or a reason when it is not one
 * (a reason always quotes the bad text).
 */
export function parseAddressPattern(text: string): AddressPattern | string {
  if (text.length === 0) return 'pattern is empty';
  if (text.length > MAX_PATTERN_LENGTH) return `pattern ${quote(text).slice(0, 40)}… is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (NOT_IN_ADDRESS_PATTERN.test(text)) {
    return `pattern ${quote(text)} is not an address pattern (no spaces, quotes, brackets, commas or semicolons; one address or domain per entry)`;
  }
  const lower = text.toLowerCase();
  const at = lower.lastIndexOf('@');
  let localText = at >= 0 ? lower.slice(0, at) : '';
  let domainText = at >= 0 ? lower.slice(at + 1) : lower;
  if (domainText.endsWith('.') && domainText.length > 1) domainText = domainText.slice(0, -1);
  if (domainText.length === 0) return `pattern ${quote(text)} has no domain after "@" (write "${localText}@*" for any domain)`;
  if (domainText.startsWith('.')) return `pattern ${quote(text)} starts its domain with a dot (write "*${domainText}" for subdomains)`;
  if (at < 0 && !/[.*?]/.test(domainText)) {
    return `pattern ${quote(text)} is neither an address nor a domain (write "${domainText}@example.com" or a domain like "example.com")`;
  }
  if (localText === '' || /^\*+$/.test(localText)) localText = '';
  const anyLocal = localText === '';
  const plusAware = !anyLocal && !localText.includes('+');
  const literalLocal = !anyLocal && !hasWildcard(localText);
  if (!hasWildcard(domainText)) {
    if (anyLocal) return { source: lower, kind: 'domain', key: domainText, plusAware };
    // The key is the source itself unless a trailing dot was dropped: one string, not two.
    const key = lower.length === localText.length + 1 + domainText.length ? lower : `${localText}@${domainText}`;
    if (literalLocal) return { source: lower, kind: 'exact', key, plusAware };
    return { source: lower, kind: 'domain-local', local: Glob.compile(localText), key: domainText, plusAware };
  }
  const local = anyLocal ? undefined : Glob.compile(localText);
  const domain = Glob.compile(domainText);
  if (anyLocal && domainText.startsWith('*.') && !hasWildcard(domainText.slice(2))) {
    return { source: lower, kind: 'subdomain', domain, key: domainText.slice(2), plusAware };
  }
  return { source: lower, kind: 'wildcard', local, domain, plusAware };
}

const hasWildcard = (s: string): boolean => s.includes('*') || s.includes('?');

/** The pattern as JSON, for reasons; only built when there is one. */
const quote = (text: string): string => JSON.stringify(text);

/** An address split for matching; all parts lower-cased. */
export interface ParsedAddress {
  /** The whole address, lower-cased, without a trailing dot on the domain. */
  readonly address: string;
  readonly local: string;
  readonly domain: string;
  /** Local parts to try: the local part, and the one inside a BATV `prvs=tag=local` wrapper. */
  readonly locals: readonly string[];
  /** The same without `+tag`, when that differs. */
  readonly baseLocals: readonly string[];
}

const BATV = /^prvs=[0-9a-z]+=(.+)$/;

/**
 * The content of an RFC 5321 quoted local part (`"mailer-daemon"` is
 * `mailer-daemon`, `"a\\"b"` is `a"b`); other local parts unchanged. The
 * two name the same mailbox, so the guard, the budget and the rules must see
 * the same local part. A string that only starts with a quote is left alone.
 */
function unquoteLocal(local: string): string {
  if (local.length < 2 || local.charCodeAt(0) !== 34 /* " */ || local.charCodeAt(local.length - 1) !== 34) return local;
  return local.slice(1, -1).replace(/\\(.)/g, '$1');
}

function stripPlus(local: string): string {
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

/** Splits an address at its last `@`; an address without `@` has an empty domain. */
export function parseAddress(raw: string): ParsedAddress {
  const lower = raw.trim().toLowerCase().replace(/^<(.*)>$/, '$1');
  const at = lower.lastIndexOf('@');
  const local = unquoteLocal(at >= 0 ? lower.slice(0, at) : lower);
  let domain = at >= 0 ? lower.slice(at + 1) : '';
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  const locals = [local];
  const batv = BATV.exec(local);
  if (batv) locals.push(batv[1]);
  const baseLocals: string[] = [];
  for (const l of locals) {
    const base = stripPlus(l);
    if (base !== l && !locals.includes(base) && !baseLocals.includes(base)) baseLocals.push(base);
  }
  return { address: at >= 0 ? `${local}@${domain}` : local, local, domain, locals, baseLocals };
}

/**
 * The address a sender budget counts: lower-case, quotes, BATV wrapper and
 * `+tag` removed, so a forger cannot dodge the per-address budget by varying
 * them. `domain` is the registrable domain (Public Suffix List, ICANN section:
 * `a.b.example.co.uk` counts as `example.co.uk`), so 60 forged senders on 60
 * subdomains of one victim share that victim's domain budget; a domain the
 * list cannot place (an address literal, a bare name) counts as itself.
 */
export function budgetAddress(raw: string): { address: string; domain: string } {
  const a = parseAddress(raw);
  const local = stripPlus(a.locals[a.locals.length - 1]);
  return { address: a.domain ? `${local}@${a.domain}` : local, domain: registrableDomain(a.domain) };
}

/** The registrable domain of a (lower-case) host name, or the name itself when the list cannot place it. */
export function registrableDomain(domain: string): string {
  if (domain === '') return domain;
  return getDomain(domain, { allowPrivateDomains: false, validateHostname: false }) ?? domain;
}

/** True when the address matches the pattern (the empty sender matches nothing). */
export function matchesAddress(pattern: AddressPattern, address: ParsedAddress): boolean {
  if (address.address === '') return false;
  switch (pattern.kind) {
    case 'exact': {
      const key = pattern.key!;
      const at = key.lastIndexOf('@');
      if (address.domain.length !== key.length - at - 1 || !key.endsWith(address.domain)) return false;
      return localMatches(pattern, address, (l) => l.length === at && key.startsWith(l));
    }
    case 'domain':
      return address.domain === pattern.key;
    case 'domain-local':
      return address.domain === pattern.key && localMatches(pattern, address, (l) => pattern.local!.test(l));
    default:
      if (!pattern.domain!.test(address.domain)) return false;
      return pattern.local === undefined || localMatches(pattern, address, (l) => pattern.local!.test(l));
  }
}

/** True when one of the address's local parts (or, plus-aware, one without its `+tag`) passes `test`. */
function localMatches(pattern: AddressPattern, address: ParsedAddress, test: (local: string) => boolean): boolean {
  for (const l of address.locals) if (test(l)) return true;
  if (pattern.plusAware) for (const l of address.baseLocals) if (test(l)) return true;
  return false;
}
