/**
 * The rule item: one DynamoDB item per rule, written by hand in the console or
 * with `aws dynamodb put-item`. Items arrive unmarshalled (plain JS, numbers
 * possibly wrapped, string sets as `Set`), are validated here and come out as a
 * {@link Rule} with defaults applied and patterns compiled — or as a list of
 * problems naming the ruleId and the field, so one bad item never stops the
 * others. docs/rules.md is the reference for operators.
 */
import { editDistance } from '../../commons/did-you-mean';
import { UNSAFE_TEXT } from '../../commons/printable';
import * as z from '../../commons/zod';
import {
  BOUNCE_TYPES,
  VERDICT_NAMES,
  VERDICT_STATUSES,
  type BounceSpec,
  type BounceType,
  type VerdictName,
  type VerdictStatus,
} from '../model';
import { Glob, globProblem, parseAddressPattern, type AddressPattern } from './pattern';

/** Priority of a rule that does not say. Lower runs first. */
export const DEFAULT_PRIORITY = 100;

/** Status used when a bounce rule gives a bounceType but no status. */
export const DEFAULT_STATUS: Readonly<Record<BounceType, string>> = Object.freeze({
  DoesNotExist: '5.1.1',
  MessageTooLarge: '5.3.4',
  ExceededQuota: '5.2.2',
  ContentRejected: '5.7.1',
  TemporaryFailure: '4.0.0',
  Undefined: '5.0.0',
});

export const MAX_RULE_ID_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Diagnostic-Code is sent as an SES ExtensionField-sized value. */
export const MAX_DIAGNOSTIC_CODE_LENGTH = 2048;
export const MAX_EXPLANATION_LENGTH = 2048;

/** A rule header condition: any header of that (case-insensitive) name matching any pattern. */
export interface HeaderCondition {
  /** Lower-cased header name. */
  readonly name: string;
  readonly patterns: readonly Glob[];
}

/** A validated rule, defaults applied, patterns compiled. */
export interface Rule {
  readonly ruleId: string;
  readonly enabled: boolean;
  readonly priority: number;
  readonly description?: string;
  /** Epoch ms; the rule applies from this instant (inclusive). */
  readonly activeFrom?: number;
  /** Epoch ms; the rule stops applying at this instant (exclusive). */
  readonly activeUntil?: number;
  readonly recipients: readonly AddressPattern[];
  readonly senders?: readonly AddressPattern[];
  readonly fromHeader?: readonly AddressPattern[];
  readonly subject?: readonly Glob[];
  readonly headers?: readonly HeaderCondition[];
  readonly minSizeBytes?: number;
  readonly maxSizeBytes?: number;
  readonly attachmentNames?: readonly Glob[];
  readonly attachmentTypes?: readonly Glob[];
  readonly verdicts?: Readonly<Partial<Record<VerdictName, readonly VerdictStatus[]>>>;
  /**
   * `drop` rejects the recipient without a DSN (no SendBounce, ever): spam
   * traps, aliases retired for abuse, wherever any DSN would be backscatter.
   */
  readonly action: RuleAction;
  /**
   * `shadow`: the rule is evaluated, and a match is recorded as what it would
   * have done, but it decides nothing (evaluation goes on as if it had not
   * matched). Only bounce and drop rules may be shadow rules. @default 'enforce'
   */
  readonly mode: RuleMode;
  /** Present exactly when `action` is `bounce`. */
  readonly bounce?: BounceSpec;
}

/** What a rule does to the recipients it matches. */
export type RuleAction = 'bounce' | 'allow' | 'drop';
/** The actions a rule can take; the snapshot decoder refuses any other (a newer version's action). */
export const RULE_ACTIONS: [RuleAction, ...RuleAction[]] = ['bounce', 'allow', 'drop'];
/** Whether a rule decides (`enforce`) or only records what it would have done (`shadow`). */
export type RuleMode = 'enforce' | 'shadow';
export const RULE_MODES: [RuleMode, ...RuleMode[]] = ['enforce', 'shadow'];

/**
 * Why `mode: "shadow"` is refused on an allow rule. Enforcing an allow rule
 * can only mean fewer bounces, so there is nothing to try out first; and a
 * shadow allow that silently did nothing would leave bounces going out that
 * its author meant to stop. Refused, the item is invalid and (like any
 * invalid item) holds the bounces and drops of every recipient it covers.
 */
export const SHADOW_ALLOW_REASON =
  'must be "enforce" on an allow rule: "shadow" applies to bounce and drop rules (an allow rule only ever prevents bounces, so enforce it)';

/** One problem with one item: which rule, which field (dotted path), why. */
export interface RuleIssue {
  /** Absent when the item has no usable ruleId. */
  readonly ruleId?: string;
  readonly field: string;
  readonly reason: string;
}

export type RuleParseResult =
  | { readonly ok: true; readonly rule: Rule; readonly warnings: readonly RuleIssue[] }
  | {
      readonly ok: false;
      readonly ruleId?: string;
      readonly errors: readonly RuleIssue[];
      readonly warnings: readonly RuleIssue[];
      /**
       * The recipients the item could have been meant for, read from its
       * `recipients` when every entry is a valid pattern; undefined when they
       * cannot be read, so it could cover anyone. No bounce goes to them
       * while the item is invalid (see compile.ts).
       */
      readonly covers?: readonly AddressPattern[];
    };

/** Every attribute a rule item may have. */
export const RULE_FIELDS = [
  'ruleId',
  'enabled',
  'priority',
  'description',
  'activeFrom',
  'activeUntil',
  'recipients',
  'senders',
  'fromHeader',
  'subject',
  'headers',
  'minSizeBytes',
  'maxSizeBytes',
  'attachmentNames',
  'attachmentTypes',
  'verdicts',
  'action',
  'mode',
  'bounceType',
  'status',
  'diagnosticCode',
  'explanation',
  'notes',
] as const;

/**
 * The one attribute for people's notes (ticket numbers, owners, history):
 * any DynamoDB type, never evaluated, never refused. Every other attribute
 * the schema does not know is refused, because a condition the bouncer
 * ignores (`disabled`, `until`, `maxSize`) makes a rule bounce more than its
 * author meant.
 */
export const NOTES_FIELD = 'notes';

const BOUNCE_FIELDS = ['bounceType', 'status', 'diagnosticCode', 'explanation'] as const;

// --- coercions for what hand-written, unmarshalled items look like -----------

/** DynamoDB NULL means "not set". */
const nullToUndefined = (v: unknown): unknown => (v === null ? undefined : v);

/** L, SS or a single S all mean a list of strings. */
const toList = (v: unknown): unknown => {
  if (v === null) return undefined;
  if (v instanceof Set) return [...v];
  if (typeof v === 'string') return [v];
  return v;
};

/**
 * `enabled` typed in the DynamoDB console as the string "true" or "false"
 * (any case, surrounding blanks ignored) is read as the boolean: nothing else
 * could be meant. Other strings ("yes", "1") stay refused.
 */
const toBoolean = (v: unknown): unknown => {
  if (v === null) return undefined;
  if (typeof v === 'string') {
    const word = v.trim().toLowerCase();
    if (word === 'true') return true;
    if (word === 'false') return false;
  }
  return v;
};

/** N arrives as number, or wrapped (`wrapNumbers`); a numeric S is accepted too. */
const toNumber = (v: unknown): unknown => {
  if (v === null) return undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  if (isWrappedNumber(v)) return Number(v.value);
  return v;
};

/**
 * The SDK's NumberValue (`unmarshall(…, { wrapNumbers: true })`), recognised by
 * shape: its class name does not survive a minified bundle. A map attribute
 * unmarshalls to a plain object, so it can never pass for one.
 */
function isWrappedNumber(v: unknown): v is { value: string } {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  return (
    proto !== Object.prototype &&
    proto !== null &&
    typeof (v as { value?: unknown }).value === 'string' &&
    typeof (v as { toAttributeValue?: unknown }).toAttributeValue === 'function'
  );
}

// --- zod/mini building blocks --------------------------------------------------

/** Runs `fn` on the raw value before `schema` sees it (classic zod's `preprocess`). */
const preprocess = <T extends z.core.$ZodType>(fn: (v: unknown) => unknown, schema: T) => z.pipe(z.transform(fn), schema);

/**
 * Reports a problem from inside a transform (classic zod's `ctx.addIssue`):
 * the message is ours, the path is relative to the transformed value.
 */
function addIssue(ctx: z.core.ParsePayload, message: string, path: PropertyKey[] = []): void {
  ctx.issues.push({ code: 'custom', message, path, input: ctx.value });
}

/** An optional attribute; DynamoDB NULL counts as absent. */
const optional = <T extends z.core.SomeType>(schema: T) => preprocess(nullToUndefined, z.optional(schema));

/** Why text bound for logs, terminals and DSNs is refused (CR/LF would forge lines, ESC rewrite screens, NUL cut strings). */
const CONTROL_REASON = 'must not contain control characters (CR, LF, NUL, TAB, VT, FF, ESC, DEL, C1, U+2028/U+2029 or bidi controls)';

const oneLine = (max: number) =>
  z.string().check(
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((s: string) => !UNSAFE_TEXT.test(s), CONTROL_REASON),
  );

const listOf = (required?: string) =>
  preprocess(
    toList,
    z
      .array(z.string({ error: 'must be a string' }), {
        error: (iss) => (iss.input === undefined && required ? required : 'must be a list or string set of strings'),
      })
      .check(z.minLength(1, 'must not be empty')),
  );
const stringList = listOf();

const addressPatternsOf = (list: typeof stringList) =>
  z.pipe(
    list,
    z.transform((list: string[], ctx) => {
      const out: AddressPattern[] = [];
      list.forEach((text, i) => {
        const parsed = parseAddressPattern(text);
        if (typeof parsed === 'string') addIssue(ctx, parsed, [i]);
        else out.push(parsed);
      });
      return out;
    }),
  );
const addressPatterns = addressPatternsOf(stringList);

const globs = z.pipe(
  stringList,
  z.transform((list: string[], ctx) => {
    const out: Glob[] = [];
    list.forEach((text, i) => {
      const problem = globProblem(text);
      if (problem) addIssue(ctx, problem, [i]);
      else out.push(Glob.compile(text));
    });
    return out;
  }),
);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

const instant = z.pipe(
  z.string({ error: 'must be an ISO 8601 string' }),
  z.transform((s: string, ctx) => {
    const ms = ISO_8601.test(s) ? Date.parse(s) : NaN;
    if (Number.isNaN(ms)) {
      addIssue(ctx, `${JSON.stringify(s)} is not ISO 8601 like "2026-01-31" or "2026-01-31T18:00:00Z" (a time needs a zone)`);
      return z.NEVER;
    }
    return ms;
  }),
);

const sizeBytes = preprocess(
  toNumber,
  z.number({ error: 'must be a number' }).check(z.int('must be a whole number'), z.gte(0, 'must not be negative')),
);

const HEADER_NAME = /^[!-9;-~]{1,200}$/;

const headerConditions = z.pipe(
  z.record(z.string(), z.unknown(), { error: 'must be a map of header name to pattern(s)' }),
  z.transform((map: Record<string, unknown>, ctx) => {
    const out: HeaderCondition[] = [];
    for (const [name, value] of Object.entries(map)) {
      if (!HEADER_NAME.test(name)) {
        addIssue(ctx, `${JSON.stringify(name)} is not a header name`, [name]);
        continue;
      }
      const parsed = globs.safeParse(value);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) addIssue(ctx, issue.message, [name, ...issue.path.map(String)]);
      } else out.push({ name: name.toLowerCase(), patterns: parsed.data });
    }
    if (out.length === 0 && Object.keys(map).length === 0) addIssue(ctx, 'must not be empty');
    return out;
  }),
);

const verdictConditions = z.pipe(
  z.record(z.string(), z.unknown(), { error: 'must be a map of verdict name to accepted statuses' }),
  z.transform((map: Record<string, unknown>, ctx) => {
    const out: Partial<Record<VerdictName, VerdictStatus[]>> = {};
    for (const [key, value] of Object.entries(map)) {
      const name = key.toLowerCase() as VerdictName;
      if (!VERDICT_NAMES.includes(name)) {
        addIssue(ctx, `${JSON.stringify(key)} is not a verdict (${VERDICT_NAMES.join(', ')})`, [key]);
        continue;
      }
      const list = stringList.safeParse(value);
      if (!list.success) {
        addIssue(ctx, list.error.issues[0].message, [key]);
        continue;
      }
      const statuses: VerdictStatus[] = [];
      list.data.forEach((s, i) => {
        const status = s.toUpperCase() as VerdictStatus;
        if (VERDICT_STATUSES.includes(status)) statuses.push(status);
        else addIssue(ctx, `${JSON.stringify(s)} is not a verdict status (${VERDICT_STATUSES.join(', ')})`, [key, i]);
      });
      out[name] = statuses;
    }
    if (Object.keys(map).length === 0) addIssue(ctx, 'must not be empty');
    return out;
  }),
);

const itemSchema = z.object({
  ruleId: z
    .string({ error: 'is required and must be a string' })
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(MAX_RULE_ID_LENGTH, `must be at most ${MAX_RULE_ID_LENGTH} characters`),
      z.refine((s: string) => !UNSAFE_TEXT.test(s), CONTROL_REASON),
    ),
  enabled: optional(preprocess(toBoolean, z.boolean({ error: 'must be a boolean (true or false), or the string "true" or "false"' }))),
  // Non-finite numbers already fail the number type itself ('must be a number'); classic's .finite() was a no-op.
  priority: optional(preprocess(toNumber, z.number({ error: 'must be a number' }))),
  description: optional(oneLine(MAX_DESCRIPTION_LENGTH)),
  activeFrom: optional(instant),
  activeUntil: optional(instant),
  recipients: addressPatternsOf(listOf('is required: list the recipient patterns the rule covers')),
  senders: optional(addressPatterns),
  fromHeader: optional(addressPatterns),
  subject: optional(globs),
  headers: optional(headerConditions),
  minSizeBytes: optional(sizeBytes),
  maxSizeBytes: optional(sizeBytes),
  attachmentNames: optional(globs),
  attachmentTypes: optional(globs),
  verdicts: optional(verdictConditions),
  action: preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(RULE_ACTIONS, {
      error: (iss) =>
        iss.input === undefined ? 'is required: "bounce", "allow" or "drop"' : `must be "bounce", "allow" or "drop" (got ${JSON.stringify(iss.input)})`,
    }),
  ),
  mode: optional(
    preprocess(
      (v) => (typeof v === 'string' ? v.toLowerCase() : v),
      z.enum(RULE_MODES, { error: (iss) => `must be "enforce" or "shadow" (got ${JSON.stringify(iss.input)})` }),
    ),
  ),
  bounceType: optional(
    preprocess(
      (v) => (typeof v === 'string' ? (BOUNCE_TYPES.find((t) => t.toLowerCase() === v.toLowerCase()) ?? v) : v),
      z.enum(BOUNCE_TYPES as [BounceType, ...BounceType[]], { error: `must be one of ${BOUNCE_TYPES.join(', ')}` }),
    ),
  ),
  status: optional(
    z
      .string({ error: 'must be a string like "5.1.1"' })
      .check(
        z.regex(/^[245]\.\d{1,3}\.\d{1,3}$/, 'must be an RFC 3463 status like "5.1.1"'),
        z.refine((s: string) => !s.startsWith('2'), 'must be 4.x.x (temporary) or 5.x.x (permanent): 2.x.x means success'),
      ),
  ),
  diagnosticCode: optional(oneLine(MAX_DIAGNOSTIC_CODE_LENGTH)),
  explanation: optional(oneLine(MAX_EXPLANATION_LENGTH)),
});

// --- fast path for well-formed items ------------------------------------------

/** What a successful parse of {@link itemSchema} gives. */
type ItemData = z.output<typeof itemSchema>;

/** Returned by a fast-path check that cannot vouch for a value: the schema decides (and words any error). */
const BAIL: unique symbol = Symbol('bail');
type Fast<T> = T | typeof BAIL;

const absent = (v: unknown): boolean => v === undefined || v === null;

function fastStrings(v: unknown): Fast<string[]> {
  const list = toList(v);
  if (!Array.isArray(list) || list.length === 0) return BAIL;
  for (const s of list) if (typeof s !== 'string') return BAIL;
  return list as string[];
}

function fastAddressPatterns(v: unknown): Fast<AddressPattern[]> {
  const list = fastStrings(v);
  if (list === BAIL) return BAIL;
  const out: AddressPattern[] = [];
  for (const text of list) {
    const parsed = parseAddressPattern(text);
    if (typeof parsed === 'string') return BAIL;
    out.push(parsed);
  }
  return out;
}

function fastGlobs(v: unknown): Fast<Glob[]> {
  const list = fastStrings(v);
  if (list === BAIL) return BAIL;
  const out: Glob[] = [];
  for (const text of list) {
    if (globProblem(text) !== undefined) return BAIL;
    out.push(Glob.compile(text));
  }
  return out;
}

function fastOneLine(v: unknown, max: number): Fast<string> {
  return typeof v === 'string' && v.length <= max && !UNSAFE_TEXT.test(v) ? v : BAIL;
}

function fastInstant(v: unknown): Fast<number> {
  if (typeof v !== 'string' || !ISO_8601.test(v)) return BAIL;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? BAIL : ms;
}

function fastSize(v: unknown): Fast<number> {
  const n = toNumber(v);
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : BAIL;
}

/** An optional field: absent and NULL give undefined, anything else goes through `check`. */
function opt<T>(v: unknown, check: (v: unknown) => Fast<T>): Fast<T | undefined> {
  return absent(v) ? undefined : check(v);
}

/**
 * The schema's output for an item whose every attribute has the plain,
 * well-typed shape almost all stored rules have, built without zod (which
 * dominates the load time of 100,000 rules); BAIL for anything else, and the
 * schema then parses the item and words every problem. It only ever vouches
 * for values the schema accepts, and builds them with the same helpers, so a
 * rule comes out the same whichever way it was parsed.
 */
function fastParse(r: Record<string, unknown>): ItemData | typeof BAIL {
  const { ruleId } = r;
  if (typeof ruleId !== 'string' || ruleId.length === 0 || ruleId.length > MAX_RULE_ID_LENGTH || UNSAFE_TEXT.test(ruleId)) return BAIL;
  const enabled = toBoolean(r.enabled);
  if (enabled !== undefined && typeof enabled !== 'boolean') return BAIL;
  const priority = opt(r.priority, (v) => {
    const n = toNumber(v);
    return typeof n === 'number' && Number.isFinite(n) ? n : BAIL;
  });
  if (priority === BAIL) return BAIL;
  const action = typeof r.action === 'string' ? r.action.toLowerCase() : undefined;
  if (action !== 'bounce' && action !== 'allow' && action !== 'drop') return BAIL;
  const mode = opt(r.mode, (v) => {
    const m = typeof v === 'string' ? v.toLowerCase() : undefined;
    return m === 'enforce' || m === 'shadow' ? m : BAIL;
  });
  const bounceType = opt(r.bounceType, (v) => (typeof v === 'string' ? (BOUNCE_TYPES.find((t) => t.toLowerCase() === v.toLowerCase()) ?? BAIL) : BAIL));
  const status = opt(r.status, (v) => (typeof v === 'string' && /^[45]\.\d{1,3}\.\d{1,3}$/.test(v) ? v : BAIL));
  const description = opt(r.description, (v) => fastOneLine(v, MAX_DESCRIPTION_LENGTH));
  const diagnosticCode = opt(r.diagnosticCode, (v) => fastOneLine(v, MAX_DIAGNOSTIC_CODE_LENGTH));
  const explanation = opt(r.explanation, (v) => fastOneLine(v, MAX_EXPLANATION_LENGTH));
  const activeFrom = opt(r.activeFrom, fastInstant);
  const activeUntil = opt(r.activeUntil, fastInstant);
  const minSizeBytes = opt(r.minSizeBytes, fastSize);
  const maxSizeBytes = opt(r.maxSizeBytes, fastSize);
  const recipients = fastAddressPatterns(r.recipients);
  const senders = opt(r.senders, fastAddressPatterns);
  const fromHeader = opt(r.fromHeader, fastAddressPatterns);
  const subject = opt(r.subject, fastGlobs);
  const attachmentNames = opt(r.attachmentNames, fastGlobs);
  const attachmentTypes = opt(r.attachmentTypes, fastGlobs);
  // Header and verdict maps are rare: the schema handles them.
  if (!absent(r.headers) || !absent(r.verdicts)) return BAIL;
  const values = [mode, bounceType, status, description, diagnosticCode, explanation, activeFrom, activeUntil, minSizeBytes, maxSizeBytes, recipients, senders, fromHeader, subject, attachmentNames, attachmentTypes];
  if (values.includes(BAIL)) return BAIL;
  return {
    ruleId,
    enabled,
    priority,
    description,
    activeFrom,
    activeUntil,
    recipients,
    senders,
    fromHeader,
    subject,
    minSizeBytes,
    maxSizeBytes,
    attachmentNames,
    attachmentTypes,
    action,
    mode,
    bounceType,
    status,
    diagnosticCode,
    explanation,
  } as ItemData;
}

// --- unknown attributes ------------------------------------------------------


/**
 * Words people use for a rule attribute, by lower-cased name without
 * separators. Each maps to the attribute(s) meant, with a hint when the value
 * changes too (`disabled: true` is `enabled: false`).
 */
const SYNONYMS: Readonly<Record<string, string>> = {
  disabled: '"enabled" (write "enabled": false)',
  disable: '"enabled" (write "enabled": false)',
  active: '"enabled"',
  on: '"enabled"',
  until: '"activeUntil"',
  expires: '"activeUntil"',
  expiry: '"activeUntil"',
  expiration: '"activeUntil"',
  expiresat: '"activeUntil"',
  enddate: '"activeUntil"',
  end: '"activeUntil"',
  validuntil: '"activeUntil"',
  ttl: '"activeUntil"',
  start: '"activeFrom"',
  startdate: '"activeFrom"',
  since: '"activeFrom"',
  validfrom: '"activeFrom"',
  from: '"senders" (envelope sender) or "fromHeader" (From: header)',
  fromaddress: '"senders" (envelope sender) or "fromHeader" (From: header)',
  mailfrom: '"senders"',
  sender: '"senders"',
  to: '"recipients"',
  rcpt: '"recipients"',
  rcptto: '"recipients"',
  recipient: '"recipients"',
  minsize: '"minSizeBytes"',
  maxsize: '"maxSizeBytes"',
  size: '"minSizeBytes" or "maxSizeBytes"',
  attachments: '"attachmentNames" or "attachmentTypes"',
  attachment: '"attachmentNames" or "attachmentTypes"',
  filename: '"attachmentNames"',
  filenames: '"attachmentNames"',
  note: `"${NOTES_FIELD}"`,
  comment: `"${NOTES_FIELD}"`,
  comments: `"${NOTES_FIELD}"`,
  remarks: `"${NOTES_FIELD}"`,
  type: '"bounceType"',
  code: '"status" or "diagnosticCode"',
  message: '"explanation"',
  shadow: '"mode" (write "mode": "shadow")',
  dryrun: '"mode" (write "mode": "shadow")',
  enforce: '"mode" (write "mode": "enforce")',
};

/**
 * What an unknown attribute was probably meant to be: a known synonym, a
 * field within a small edit distance (`sender`, `Subject`), or a field the
 * name starts (`minSize` for `minSizeBytes`); undefined when nothing is close.
 */
function didYouMean(name: string): string | undefined {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (Object.prototype.hasOwnProperty.call(SYNONYMS, key)) return SYNONYMS[key];
  for (const field of RULE_FIELDS) {
    const f = field.toLowerCase();
    if (f === key || (key.length >= 4 && editDistance(key, f) <= Math.max(2, Math.floor(f.length / 4)))) return `"${field}"`;
  }
  for (const field of RULE_FIELDS) if (key.length >= 4 && field.toLowerCase().startsWith(key)) return `"${field}"`;
  return undefined;
}

// --- entry point -------------------------------------------------------------

/**
 * Validates one unmarshalled item. An attribute the schema does not know
 * makes the item invalid (with a did-you-mean where one is close); people's
 * notes go in {@link NOTES_FIELD}. Bounce fields on an `allow` or `drop` rule are
 * ignored with a warning.
 */
export function parseRule(item: unknown): RuleParseResult {
  const result = parseItem(item);
  if (result.ok) return result;
  const covers = typeof item === 'object' && item !== null ? fastAddressPatterns((item as Record<string, unknown>).recipients) : BAIL;
  return covers === BAIL ? result : { ...result, covers };
}

function parseItem(item: unknown): RuleParseResult {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { ok: false, errors: [{ field: '(item)', reason: 'must be a map of attributes' }], warnings: [] };
  }
  const record = item as Record<string, unknown>;
  const ruleId = typeof record.ruleId === 'string' && record.ruleId !== '' ? record.ruleId : undefined;
  const errors: RuleIssue[] = [];
  const warnings: RuleIssue[] = [];
  const issue = (field: string, reason: string): RuleIssue => (ruleId === undefined ? { field, reason } : { ruleId, field, reason });

  for (const key of Object.keys(record)) {
    if ((RULE_FIELDS as readonly string[]).includes(key)) continue;
    const meant = didYouMean(key);
    const name = JSON.stringify(key);
    errors.push(
      issue(
        key,
        meant
          ? `unknown attribute ${name}: did you mean ${meant}? (notes for people go in "${NOTES_FIELD}")`
          : `unknown attribute ${name}: not a rule attribute; notes for people go in "${NOTES_FIELD}"`,
      ),
    );
  }

  // Well-formed items skip zod; anything the fast path cannot vouch for gets the schema's checks and wording.
  let d: ItemData;
  const fast = errors.length === 0 ? fastParse(record) : BAIL;
  if (fast !== BAIL) d = fast;
  else {
    const parsed = itemSchema.safeParse(record);
    if (!parsed.success) {
      for (const zi of parsed.error.issues) {
        errors.push(issue(zi.path.length ? zi.path.map(String).join('.') : '(item)', zi.message));
      }
    }
    if (!parsed.success || errors.length > 0) return { ok: false, ruleId, errors, warnings };
    d = parsed.data;
  }
  if (d.activeFrom !== undefined && d.activeUntil !== undefined && d.activeFrom >= d.activeUntil) {
    errors.push(issue('activeUntil', 'must be later than activeFrom'));
  }
  if (d.minSizeBytes !== undefined && d.maxSizeBytes !== undefined && d.minSizeBytes > d.maxSizeBytes) {
    errors.push(issue('maxSizeBytes', 'must not be smaller than minSizeBytes'));
  }
  if (d.mode === 'shadow' && d.action === 'allow') errors.push(issue('mode', SHADOW_ALLOW_REASON));
  if (errors.length > 0) return { ok: false, ruleId, errors, warnings };

  let bounce: BounceSpec | undefined;
  if (d.action === 'bounce') {
    const bounceType = d.bounceType ?? 'DoesNotExist';
    const status = d.status ?? DEFAULT_STATUS[bounceType];
    bounce = {
      bounceType,
      status,
      action: status.startsWith('4') ? 'delayed' : 'failed',
      ...(d.diagnosticCode !== undefined ? { diagnosticCode: d.diagnosticCode } : {}),
      ...(d.explanation !== undefined ? { explanation: d.explanation } : {}),
    };
  } else {
    for (const field of BOUNCE_FIELDS) {
      if (d[field] !== undefined) warnings.push(issue(field, `${field} is ignored on ${d.action === 'drop' ? 'a drop rule (no DSN is sent)' : 'an allow rule'}`));
    }
  }

  const rule: Rule = {
    ruleId: d.ruleId,
    enabled: d.enabled ?? true,
    priority: d.priority ?? DEFAULT_PRIORITY,
    description: d.description,
    activeFrom: d.activeFrom,
    activeUntil: d.activeUntil,
    recipients: d.recipients,
    senders: d.senders,
    fromHeader: d.fromHeader,
    subject: d.subject,
    headers: d.headers,
    minSizeBytes: d.minSizeBytes,
    maxSizeBytes: d.maxSizeBytes,
    attachmentNames: d.attachmentNames,
    attachmentTypes: d.attachmentTypes,
    verdicts: d.verdicts,
    action: d.action,
    mode: d.mode ?? 'enforce',
    bounce,
  };
  return { ok: true, rule, warnings };
}
