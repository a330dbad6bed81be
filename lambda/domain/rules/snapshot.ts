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
 * Layout (JSON, gzipped), columnar so that 100,000 rules do not repeat
 * 100,000 copies of each attribute name:
 * ```
 * { format, formatVersion, disabled,
 *   fields: ["ruleId", "priority", "recipients", "action", "bounce", …],
 *   codecs: ["json", "json", "addresses", "json", "shared", …],
 *   shared: [ …distinct values of "shared" fields… ],
 *   rules: [[…one value per field, null = absent…], …],   // evaluation order
 *   invalid: [{ ruleId?, index, errors, covers? }, …] }
 * ```
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
import { Glob, parseAddressPattern, type AddressPattern } from './pattern';
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
 * How one field's values are written:
 * - `addresses`: a list of address patterns, written as their text;
 * - `globs`: a list of globs, written as their text;
 * - `shared`: an object (bounce spec, verdict map) written once in `shared`
 *   and referred to by position: 100,000 rules with three bounce specs store
 *   three, and decode to three objects;
 * - `json`: anything else, with globs and address patterns inside tagged.
 */
type FieldCodec = 'addresses' | 'globs' | 'shared' | 'json';
const CODECS: readonly FieldCodec[] = ['addresses', 'globs', 'shared', 'json'];

interface SnapshotDocument {
  readonly format: string;
  readonly formatVersion: number;
  readonly disabled: number;
  readonly fields: string[];
  readonly codecs: FieldCodec[];
  readonly shared: unknown[];
  readonly rules: unknown[][];
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
  return typeof p.source === 'string' && typeof p.kind === 'string' && p.domain instanceof Glob && typeof p.plusAware === 'boolean';
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === Object.prototype || proto === null;
};

/** The codec that fits every present value of a field. */
function codecFor(values: readonly unknown[]): FieldCodec {
  const present = values.filter((v) => v !== undefined);
  if (present.length > 0 && present.every((v) => Array.isArray(v) && v.length > 0 && v.every(isAddressPattern))) return 'addresses';
  if (present.length > 0 && present.every((v) => Array.isArray(v) && v.length > 0 && v.every((g) => g instanceof Glob))) return 'globs';
  if (present.length > 0 && present.every((v) => isPlainObject(v) && !isAddressPattern(v))) return 'shared';
  return 'json';
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
      if (v !== undefined && !seen.has(k)) {
        seen.add(k);
        fields.push(k);
      }
    }
  }
  const codecs = fields.map((f) => codecFor(content.rules.map((r) => (r as unknown as Record<string, unknown>)[f])));
  const shared: unknown[] = [];
  const sharedIndex = new Map<string, number>();
  const rules = content.rules.map((rule) => {
    const r = rule as unknown as Record<string, unknown>;
    return fields.map((field, i) => {
      const v = r[field];
      if (v === undefined) return null;
      switch (codecs[i]) {
        case 'addresses':
          return (v as AddressPattern[]).map((p) => p.source);
        case 'globs':
          return (v as Glob[]).map((g) => g.source);
        case 'shared': {
          const encoded = encodeJson(v, field);
          const key = `${field}\u0000${JSON.stringify(encoded)}`;
          let at = sharedIndex.get(key);
          if (at === undefined) {
            at = shared.push(encoded) - 1;
            sharedIndex.set(key, at);
          }
          return at;
        }
        default:
          return encodeJson(v, field);
      }
    });
  });
  const invalid: EncodedInvalid[] = content.invalid.map((i) => ({
    ...(i.ruleId !== undefined ? { ruleId: i.ruleId } : {}),
    index: i.index,
    errors: i.errors,
    ...(i.covers ? { covers: i.covers.map((p) => p.source) } : {}),
  }));
  const doc: SnapshotDocument = {
    format: SNAPSHOT_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    disabled: content.disabled,
    fields,
    codecs,
    shared,
    rules,
    invalid,
  };
  return gzipSync(Buffer.from(JSON.stringify(doc), 'utf8'));
}

// --- decoding -------------------------------------------------------------------

const fail = (message: string, cause?: unknown): never => {
  throw new SnapshotFormatError(`rules snapshot refused: ${message}`, cause === undefined ? undefined : { cause });
};

function decodeAddress(text: unknown, where: string): AddressPattern {
  if (typeof text !== 'string') return fail(`${where}: address pattern is not a string`);
  const parsed = parseAddressPattern(text);
  return typeof parsed === 'string' ? fail(`${where}: ${parsed}`) : parsed;
}

function decodeAddresses(v: unknown, where: string): AddressPattern[] {
  if (!Array.isArray(v) || v.length === 0) return fail(`${where}: expected a non-empty list of address patterns`);
  return v.map((t) => decodeAddress(t, where));
}

function decodeGlobs(v: unknown, where: string): Glob[] {
  if (!Array.isArray(v) || v.length === 0) return fail(`${where}: expected a non-empty list of patterns`);
  return v.map((t) => (typeof t === 'string' ? Glob.compile(t) : fail(`${where}: pattern is not a string`)));
}

/** Reads a `json` value back: tagged text becomes globs and address patterns again. */
function decodeJson(v: unknown, where: string): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((e) => decodeJson(e, where));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === GLOB_TAG) {
    return typeof o[GLOB_TAG] === 'string' ? Glob.compile(o[GLOB_TAG]) : fail(`${where}: pattern is not a string`);
  }
  if (keys.length === 1 && keys[0] === ADDRESS_TAG) return decodeAddress(o[ADDRESS_TAG], where);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (k.startsWith('$')) fail(`${where}: unknown tag ${JSON.stringify(k)}`);
    out[k] = decodeJson(o[k], where);
  }
  return out;
}

/** Checks what evaluation relies on; the schema checked the rest when the compile step ran. */
function checkRule(r: Record<string, unknown>, where: string): void {
  if (typeof r.ruleId !== 'string' || r.ruleId === '') fail(`${where}: ruleId is missing`);
  if (typeof r.priority !== 'number') fail(`${where}: priority is not a number`);
  if (!Array.isArray(r.recipients)) fail(`${where}: recipients are missing`);
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
  const { fields, codecs, shared, rules, invalid, disabled } = doc;
  if (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string')) return fail('fields is not a list of names');
  if (!Array.isArray(codecs) || codecs.length !== fields.length || !codecs.every((c) => CODECS.includes(c as FieldCodec))) {
    return fail('codecs do not match fields');
  }
  if (new Set(fields).size !== fields.length) return fail('a field is listed twice');
  for (const f of fields as string[]) {
    if (!KNOWN_RULE_FIELDS.has(f)) fail(`field ${JSON.stringify(f)} is not a rule attribute this version evaluates`);
  }
  if (!Array.isArray(shared) || !Array.isArray(rules) || !Array.isArray(invalid)) return fail('shared, rules or invalid is not a list');
  if (typeof disabled !== 'number' || !Number.isInteger(disabled) || disabled < 0) return fail('disabled is not a count');
  return doc as unknown as SnapshotDocument;
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

/**
 * Decodes a snapshot into indexed rules without re-running the rule schema.
 * Throws {@link SnapshotFormatError} (never anything else) when the bytes are
 * not a snapshot this code can read.
 */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  try {
    const doc = parseDocument(bytes);
    const { fields, codecs } = doc;
    const shared = doc.shared.map((v, i) => decodeJson(v, `shared value ${i}`));
    const rules: Rule[] = new Array<Rule>(doc.rules.length);
    let previous: Rule | undefined;
    for (let n = 0; n < doc.rules.length; n++) {
      const row = doc.rules[n];
      const where = `rule ${n}`;
      if (!Array.isArray(row) || row.length !== fields.length) fail(`${where}: not a row of ${fields.length} values`);
      const r: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const v = row[i];
        if (v === null) continue;
        switch (codecs[i]) {
          case 'addresses':
            r[fields[i]] = decodeAddresses(v, `${where} ${fields[i]}`);
            break;
          case 'globs':
            r[fields[i]] = decodeGlobs(v, `${where} ${fields[i]}`);
            break;
          case 'shared':
            if (typeof v !== 'number' || !(v in shared)) fail(`${where} ${fields[i]}: no shared value ${JSON.stringify(v)}`);
            r[fields[i]] = shared[v as number];
            break;
          default:
            r[fields[i]] = decodeJson(v, `${where} ${fields[i]}`);
        }
      }
      checkRule(r, where);
      const rule = r as unknown as Rule;
      // Evaluation order is the index's contract: a snapshot out of order would decide differently.
      if (previous && (previous.priority > rule.priority || (previous.priority === rule.priority && previous.ruleId >= rule.ruleId))) {
        fail(`${where}: rules are not in (priority, ruleId) order`);
      }
      rules[n] = previous = rule;
    }
    const invalid = doc.invalid.map(decodeInvalid);
    return { rules: indexRules(rules, invalid), invalid, disabled: doc.disabled };
  } catch (error) {
    if (error instanceof SnapshotFormatError) throw error;
    // Whatever else went wrong reading it, the caller only needs to know it cannot be used.
    throw new SnapshotFormatError(`rules snapshot refused: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}
