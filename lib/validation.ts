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

/** Throws a {@link ConfigError} unless `value` is a literal string matching `pattern`. */
export function checkPattern(name: string, value: string, pattern: RegExp, shape: string): void {
  if (Token.isUnresolved(value)) {
    throw new ConfigError(`${name} must be a literal value, not a token (got ${JSON.stringify(value)})`);
  }
  if (!pattern.test(value)) {
    throw new ConfigError(`${name} must be ${shape} (got ${JSON.stringify(value)})`);
  }
}

/** Throws a {@link ConfigError} unless `value` is a whole number in `[min, max]`. */
export function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
}

/** Throws a {@link ConfigError} unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(name: string, value: string, allowed: readonly T[]): asserts value is T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
}
