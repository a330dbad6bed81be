import { SesBouncerError } from '../lambda/commons/errors';

/**
 * The command line was wrong (unknown command or flag, missing argument, bad
 * flag value): the message and the command's usage go to stderr, exit 2.
 */
export class UsageError extends SesBouncerError {
  constructor(
    message: string,
    /** Usage text of the command that was being parsed. */
    readonly usage: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The command ran and failed in an expected way (no such rule, invalid input,
 * no audit record): one line on stderr, exit 1, no stack trace.
 */
export class CommandError extends SesBouncerError {}

/** Exit codes of `ses-bouncer`. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 });
