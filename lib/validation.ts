import { Token } from 'aws-cdk-lib';
import { ConfigError } from '../lambda/commons/errors';

/** Shapes shared by the construct's prop checks and the context reader. */

/** `local@domain`, no spaces or angle brackets (what SES accepts as BounceSender). */
export const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;

/** A DNS host name such as `mx.example.com`. */
export const HOST_NAME =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

/**
 * A receipt-rule recipient condition: an address, a domain (`example.com`, all
 * its addresses) or a leading-dot domain (`.example.com`, all its subdomains).
 */
export const RECIPIENT = /^([^\s@<>"]+@)?\.?[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

/** SES receipt rule and rule set names: letters, digits, `.`, `_`, `-`; at most 63 chars; alphanumeric ends. */
export const SES_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** An SES identity ARN, as `BOUNCE_SENDER_ARN` expects. */
export const IDENTITY_ARN = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/.+$/;

/** The rate gate key the functions accept. */
export const RATE_GATE_KEY = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * A prop of the construct is wrong. The message is one line: `<label>
 * <problem>`, where the label starts with the prop's name (`recipients entry`),
 * so that the app can name the context key the user typed instead
 * ({@link PropError.renamed}).
 */
export class PropError extends ConfigError {
  constructor(
    /** The prop, e.g. `receiveMemorySize`. */
    readonly prop: string,
    /** What the message names, starting with the prop, e.g. `recipients entry`. */
    readonly label: string,
    /** The rest of the message, e.g. `must be a whole number from 1 to 10 (got 0)`. */
    readonly problem: string,
  ) {
    super(`${label} ${problem}`);
  }

  /** The same error naming `name` (e.g. `context ses-bouncer:receiveMemoryMb`) instead of the prop. */
  renamed(name: string): ConfigError {
    return new ConfigError(`${name}${this.label.slice(this.prop.length)} ${this.problem}`, { cause: this });
  }
}

/** The prop a label names: its first word (`recipients entry` → `recipients`). */
const propOf = (label: string): string => label.split(' ')[0];

/** Throws a {@link PropError} unless `value` is a literal string matching `pattern`. */
export function checkPattern(name: string, value: string, pattern: RegExp, shape: string): void {
  if (Token.isUnresolved(value)) {
    throw new PropError(propOf(name), name, `must be a literal value, not a token (got ${JSON.stringify(value)})`);
  }
  if (!pattern.test(value)) {
    throw new PropError(propOf(name), name, `must be ${shape} (got ${JSON.stringify(value)})`);
  }
}

/** Throws a {@link PropError} unless `value` is a whole number in `[min, max]`. */
export function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PropError(propOf(name), name, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
}

/** Throws a {@link PropError} unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(name: string, value: string, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new PropError(propOf(name), name, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
}
