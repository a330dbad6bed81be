/**
 * The compiled rules snapshot: what the compile step publishes and receive
 * functions load instead of Scanning the rules table.
 *
 * The compile step has already validated every item with the rule schema, so
 * decoding skips zod: it checks the format and the shape evaluation relies
 * on, recompiles the patterns from their text (the same `parseAddressPattern`
 * and `Glob.compile` the schema uses) and indexes the rules. A snapshot that
 * fails any check is refused with {@link SnapshotFormatError}; the caller
 * falls back to the Scan path.
 *
 * Layout (JSON, gzipped), one column per field so that 100,000 rules do not
 * repeat 100,000 copies of each attribute name or build 100,000 row arrays:
 * ```
 * { format, formatVersion, count, disabled,
 *   columns: [ { field: "ruleId", codec: "json", values: ["a", "b", …] },
 *              { field: "recipients", codec: "addresses", values: ["alice@example.com", ["a@x.com", "b@x.com"], …] },
 *              { field: "bounce", codec: "shared", shared: [{…}, {…}], values: [0, null, 1, …] }, … ],
 *   invalid: [{ ruleId?, index, errors, covers? }, …] }
 * ```
 * `null` is an absent value; rules are in evaluation order.
 * The codec is generic over the rule's fields: it encodes every own field of
 * a validated {@link Rule} (one it has never heard of included), choosing a
 * codec from the values. Decoding refuses a field that is not a rule
 * attribute of this code version (see {@link KNOWN_RULE_FIELDS}): a condition
 * the evaluator would ignore could only widen a bounce, so such a snapshot
 * (written by a newer compile function during a deployment) is refused as a
 * whole, never read with the field dropped.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { SesBouncerError } from '../../commons/errors';
import type { CompiledRules } from './index';
import { indexRules, type InvalidRule } from './compile';
import { ADDRESS_PATTERN_KINDS, Glob, parseAddressPattern, type AddressPattern } from './pattern';
import { RULE_ACTIONS, RULE_FIELDS, type Rule, type RuleIssue } from './rule-schema';

/** The snapshot is not one this code can read (corrupt, truncated, another format or format version). */
export class SnapshotFormatError extends SesBouncerError {}

/** Identifies the document. */
export const SNAPSHOT_FORMAT = 'ses-bouncer/rules-snapshot';
/** Bumped on any change of the layout; a reader refuses versions it does not know. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/**
 * Fields a decoded rule may have: the rule item's attributes (the validated
 * Rule keeps their names) and `bounce`, the Rule's compiled bounce fields.
 * Derived from {@link RULE_FIELDS}, so a new rule attribute added to the
 * schema is known here without a change.
 */
export const KNOWN_RULE_FIELDS: ReadonlySet<string> = new Set<string>([...RULE_FIELDS, 'bounce']);

/** What a snapshot holds. */
export interface SnapshotContent {
  /** Valid, enabled rules in evaluation order ({@link RuleCompilation.valid}). */
  readonly rules: readonly Rule[];
  /** Invalid items: they hold bounces for whom they could cover, exactly as on the Scan path. */
  readonly invalid: readonly InvalidRule[];
  /** Valid rules with `enabled: false`. */
  readonly disabled: number;
}

/** A decoded snapshot, ready to evaluate. */
export interface DecodedSnapshot {
  readonly rules: CompiledRules;
  readonly invalid: readonly InvalidRule[];
  readonly disabled: number;
}

/**
 * How one column's values are written:
 * - `addresses`: a list of address patterns, as their text (one pattern: the text alone);
 * - `globs`: a list of globs, as their text;
 * - `shared`: a value repeated across rules (action, priority, bounce spec),
 *   written once in the column's `shared` list and referred to by position:
 *   100,000 rules with three bounce specs store three, and decode to three;
 * - `json`: anything else, with globs and address patterns inside tagged.
 */
type FieldCodec = 'addresses' | 'globs' | 'shared' | 'json';
const CODECS: readonly FieldCodec[] = ['addresses', 'globs', 'shared', 'json'];

/** Fields a snapshot leaves out: evaluation never reads them (every rule in it is enabled). */
const OMITTED_FIELDS: ReadonlySet<string> = new Set(['enabled', 'description']);

interface Column {
  readonly field: string;
  readonly codec: FieldCodec;
  readonly values: unknown[];
  readonly shared?: unknown[];
}

interface SnapshotDocument {
  readonly format: string;
  readonly formatVersion: number;
  readonly count: number;
  readonly disabled: number;
  readonly columns: Column[];
  readonly invalid: EncodedInvalid[];
}

interface EncodedInvalid {
  readonly ruleId?: string;
  readonly index: number;
  readonly errors: readonly RuleIssue[];
  /** Pattern texts; absent: covers anyone. */
  readonly covers?: string[];
}

const GLOB_TAG = '$glob';
const ADDRESS_TAG = '$address';

/** Recognises a compiled address pattern by shape (it is a plain object). */
function isAddressPattern(v: unknown): v is AddressPattern {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Partial<AddressPattern>;
  return typeof p.source === 'string' && ADDRESS_PATTERN_KINDS.includes(p.kind!) && typeof p.plusAware === 'boolean';
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === Object.prototype || proto === null;
};

/** The pattern codec that fits every present value of a field, if one does. */
function patternCodecFor(values: readonly unknown[]): FieldCodec | undefined {
  let addresses = true;
  let globs = true;
  for (const v of values) {
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length === 0) return undefined;
    addresses &&= v.every(isAddressPattern);
    globs &&= v.every((g) => g instanceof Glob);
  }
  return addresses ? 'addresses' : globs ? 'globs' : undefined;
}

/** Writes a value for the `json` codec: globs and address patterns as tagged text, the rest as is. */
function encodeJson(v: unknown, field: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SnapshotFormatError(`field ${JSON.stringify(field)} holds ${v}, which JSON cannot carry`);
    return v;
  }
  if (v instanceof Glob) return { [GLOB_TAG]: v.source };
  if (isAddressPattern(v)) return { [ADDRESS_TAG]: v.source };
  if (Array.isArray(v)) return v.map((e) => encodeJson(e, field));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      // A key that looks like a tag would be read back as one.
      if (k.startsWith('$')) throw new SnapshotFormatError(`field ${JSON.stringify(field)} has a key ${JSON.stringify(k)} starting with "$"`);
      if (e !== undefined) out[k] = encodeJson(e, field);
    }
    return out;
  }
  throw new SnapshotFormatError(`field ${JSON.stringify(field)} holds a value the snapshot cannot carry (${typeof v})`);
}

/** One column: a pattern codec when it fits, `shared` when values repeat (at most one distinct in four), else `json`. */
function encodeColumn(field: string, values: readonly unknown[]): Column {
  const pattern = patternCodecFor(values);
  if (pattern === 'addresses') {
    return { field, codec: pattern, values: values.map((v) => (v === undefined ? null : textsOf(v as AddressPattern[]))) };
  }
  if (pattern === 'globs') return { field, codec: pattern, values: values.map((v) => (v === undefined ? null : (v as Glob[]).map((g) => g.source))) };
  const encoded = values.map((v) => (v === undefined ? null : encodeJson(v, field)));
  const shared: unknown[] = [];
  const at = new Map<string, number>();
  const refs = encoded.map((e) => {
    if (e === null) return null;
    const key = JSON.stringify(e);
    let i = at.get(key);
    if (i === undefined) {
      i = shared.push(e) - 1;
      at.set(key, i);
    }
    return i;
  });
  const present = encoded.length - encoded.filter((e) => e === null).length;
  return shared.length * 4 <= present ? { field, codec: 'shared', shared, values: refs } : { field, codec: 'json', values: encoded };
}

/** Pattern texts; a single pattern (the usual case) as its text alone. */
const textsOf = (patterns: readonly AddressPattern[]): string | string[] => (patterns.length === 1 ? patterns[0].source : patterns.map((p) => p.source));

/**
 * Encodes the compile step's output as a gzipped snapshot. Throws
 * {@link SnapshotFormatError} for a value JSON cannot carry (the compile then
 * fails and the receive side keeps the previous snapshot or the Scan path).
 */
export function encodeSnapshot(content: SnapshotContent): Uint8Array {
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const rule of content.rules) {
    for (const [k, v] of Object.entries(rule)) {
      if (v !== undefined && !seen.has(k) && !OMITTED_FIELDS.has(k)) {
        seen.add(k);
        fields.push(k);
      }
    }
  }
  const columns = fields.map((field) => encodeColumn(field, content.rules.map((r) => (r as unknown as Record<string, unknown>)[field])));
  const invalid: EncodedInvalid[] = content.invalid.map((i) => ({
    ...(i.ruleId !== undefined ? { ruleId: i.ruleId } : {}),
    index: i.index,
    errors: i.errors,
    ...(i.covers ? { covers: i.covers.map((p) => p.source) } : {}),
  }));
  const doc: SnapshotDocument = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    count: content.rules.length,
    disabled: content.disabled,
    columns,
    invalid,
  };
  return gzipSync(Buffer.from(JSON.stringify(doc), 'utf8'));
}

// --- decoding -------------------------------------------------------------------

const fail = (message: string, cause?: unknown): never => {
  throw new SnapshotFormatError(`rules snapshot refused: ${message}`, cause === undefined ? undefined : { cause });
};

/** Where a value sits, worded only when something is wrong with it (decoding 100,000 rules builds no message). */
type Where = string | number;
/** A number is the position of the rule being decoded (the column is named in the caught error's context). */
const at = (where: Where): string => (typeof where === 'string' ? where : `rule ${where}`);

function decodeAddress(text: unknown, where: Where): AddressPattern {
  if (typeof text !== 'string') return fail(`${at(where)}: address pattern is not a string`);
  const parsed = parseAddressPattern(text);
  return typeof parsed === 'string' ? fail(`${at(where)}: ${parsed}`) : parsed;
}

/** One pattern's text, or a list of them (never empty). */
function decodeAddresses(v: unknown, where: Where): AddressPattern[] {
  if (typeof v === 'string') return [decodeAddress(v, where)];
  if (!Array.isArray(v) || v.length === 0) return fail(`${at(where)}: expected address patterns`);
  const out: AddressPattern[] = [];
  for (const t of v) out.push(decodeAddress(t, where));
  return out;
}

function decodeGlobs(v: unknown, where: Where): Glob[] {
  if (!Array.isArray(v) || v.length === 0) return fail(`${at(where)}: expected a non-empty list of patterns`);
  const out: Glob[] = [];
  for (const t of v) out.push(typeof t === 'string' ? Glob.compile(t) : fail(`${at(where)}: pattern is not a string`));
  return out;
}

/** Reads a `json` value back: tagged text becomes globs and address patterns again. */
function decodeJson(v: unknown, where: Where): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((e) => decodeJson(e, where));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === GLOB_TAG) {
    return typeof o[GLOB_TAG] === 'string' ? Glob.compile(o[GLOB_TAG]) : fail(`${at(where)}: pattern is not a string`);
  }
  if (keys.length === 1 && keys[0] === ADDRESS_TAG) return decodeAddress(o[ADDRESS_TAG], where);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (k.startsWith('$')) fail(`${at(where)}: unknown tag ${JSON.stringify(k)}`);
    out[k] = decodeJson(o[k], where);
  }
  return out;
}

/** Checks what evaluation relies on; the schema checked the rest when the compile step ran. */
function checkRule(r: Record<string, unknown>, n: number): void {
  const where = `rule ${n}`;
  if (typeof r.ruleId !== 'string' || r.ruleId === '') fail(`${where}: ruleId is missing`);
  if (typeof r.priority !== 'number') fail(`${where}: priority is not a number`);
  if (!Array.isArray(r.recipients) || r.recipients.length === 0) fail(`${where}: recipients are missing`);
  if (!(RULE_ACTIONS as readonly unknown[]).includes(r.action)) fail(`${where}: action ${JSON.stringify(r.action)} is not one this version evaluates`);
  if (r.action === 'bounce') {
    const b = r.bounce as Record<string, unknown> | undefined;
    if (!isPlainObject(b) || typeof b.bounceType !== 'string' || typeof b.status !== 'string' || typeof b.action !== 'string') {
      fail(`${where}: a bounce rule without a complete bounce`);
    }
  }
  if (r.enabled === false) fail(`${where}: a disabled rule in the index`);
  for (const k of ['activeFrom', 'activeUntil', 'minSizeBytes', 'maxSizeBytes'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'number') fail(`${where}: ${k} is not a number`);
  }
}

function parseDocument(bytes: Uint8Array): SnapshotDocument {
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch (error) {
    return fail(`not gzip data (${(error as Error).message})`, error);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`, error);
  }
  if (!isPlainObject(doc)) return fail('not a JSON object');
  if (doc.format !== SNAPSHOT_FORMAT) return fail(`format ${JSON.stringify(doc.format)} is not ${JSON.stringify(SNAPSHOT_FORMAT)}`);
  if (doc.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    return fail(`format version ${JSON.stringify(doc.formatVersion)} is not ${SNAPSHOT_FORMAT_VERSION}, the one this code reads`);
  }
  const { count, disabled, columns, invalid } = doc;
  if (!isCount(count) || !isCount(disabled)) return fail('count or disabled is not a count');
  if (!Array.isArray(columns) || !Array.isArray(invalid)) return fail('columns or invalid is not a list');
  const fields = new Set<string>();
  for (const c of columns) {
    if (!isPlainObject(c) || typeof c.field !== 'string') return fail('a column has no field name');
    const where = `column ${JSON.stringify(c.field)}`;
    if (fields.has(c.field)) fail(`${where} is listed twice`);
    fields.add(c.field);
    // A field this version does not evaluate could only be ignored, and ignoring a condition widens a bounce.
    if (!KNOWN_RULE_FIELDS.has(c.field)) fail(`${where} is not a rule attribute this version evaluates`);
    if (!CODECS.includes(c.codec as FieldCodec)) fail(`${where} has an unknown codec ${JSON.stringify(c.codec)}`);
    if (!Array.isArray(c.values) || c.values.length !== count) fail(`${where} does not hold ${count} values`);
    if (c.codec === 'shared' && !Array.isArray(c.shared)) fail(`${where} has no shared values`);
  }
  return doc as unknown as SnapshotDocument;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A column's decoder: value as stored → value of the rule (null never reaches it). */
function columnDecoder(column: Column): (v: unknown, where: Where) => unknown {
  switch (column.codec) {
    case 'addresses':
      return decodeAddresses;
    case 'globs':
      return decodeGlobs;
    case 'shared': {
      // Decoded once: every rule that refers to a value gets the same object.
      const shared = column.shared!.map((v, i) => decodeJson(v, `column ${JSON.stringify(column.field)} shared value ${i}`));
      return (v, where) => (typeof v === 'number' && v in shared ? shared[v] : fail(`${at(where)}: no shared value ${JSON.stringify(v)}`));
    }
    default:
      return decodeJson;
  }
}

function decodeInvalid(e: unknown, n: number): InvalidRule {
  const where = `invalid item ${n}`;
  if (!isPlainObject(e)) return fail(`${where}: not an object`);
  if (e.ruleId !== undefined && typeof e.ruleId !== 'string') fail(`${where}: ruleId is not a string`);
  if (typeof e.index !== 'number') fail(`${where}: index is not a number`);
  if (!Array.isArray(e.errors) || !e.errors.every((x) => isPlainObject(x) && typeof x.field === 'string' && typeof x.reason === 'string')) {
    fail(`${where}: errors are not a list of problems`);
  }
  return {
    ...(e.ruleId !== undefined ? { ruleId: e.ruleId as string } : {}),
    index: e.index as number,
    errors: e.errors as RuleIssue[],
    ...(e.covers !== undefined ? { covers: decodeAddresses(e.covers, where) } : {}),
  };
}

/** A snapshot read back: the validated rules it holds, not yet indexed. */
export interface SnapshotRules {
  /** Valid, enabled rules in evaluation order, every field the compile step gave them but those in {@link OMITTED_FIELDS}. */
  readonly rules: readonly Rule[];
  readonly invalid: readonly InvalidRule[];
  readonly disabled: number;
}

/**
 * Reads a snapshot's rules without re-running the rule schema. Throws
 * {@link SnapshotFormatError} (never anything else) when the bytes are not a
 * snapshot this code can read.
 */
export function readSnapshot(bytes: Uint8Array): SnapshotRules {
  try {
    const doc = parseDocument(bytes);
    const columns = doc.columns;
    const decoders = columns.map(columnDecoder);
    const rules: Rule[] = new Array<Rule>(doc.count);
    let previous: Rule | undefined;
    for (let n = 0; n < doc.count; n++) {
      const r: Record<string, unknown> = {};
      for (let c = 0; c < columns.length; c++) {
        const v = columns[c].values[n];
        if (v !== null) r[columns[c].field] = decoders[c](v, n);
      }
      checkRule(r, n);
      const rule = r as unknown as Rule;
      // Evaluation order is the index's contract: a snapshot out of order would decide differently.
      if (previous && (previous.priority > rule.priority || (previous.priority === rule.priority && previous.ruleId >= rule.ruleId))) {
        fail(`rule ${n}: rules are not in (priority, ruleId) order`);
      }
      rules[n] = previous = rule;
    }
    return { rules, invalid: doc.invalid.map(decodeInvalid), disabled: doc.disabled };
  } catch (error) {
    if (error instanceof SnapshotFormatError) throw error;
    // Whatever else went wrong reading it, the caller only needs to know it cannot be used.
    throw new SnapshotFormatError(`rules snapshot refused: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/**
 * Decodes a snapshot into indexed rules, ready to evaluate: they decide
 * exactly as `compileRules` on the items the compile step read, invalid
 * items holding the same bounces. Throws {@link SnapshotFormatError} (never
 * anything else) when the bytes are not a snapshot this code can read.
 */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  const { rules, invalid, disabled } = readSnapshot(bytes);
  try {
    return { rules: indexRules(rules, invalid), invalid, disabled };
  } catch (error) {
    throw new SnapshotFormatError(`rules snapshot refused: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}
