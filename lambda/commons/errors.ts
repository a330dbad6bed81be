/**
 * The project's own error types. Adapters convert SDK errors into these at the
 * edge, so the domain and the handlers decide with `instanceof`, never by
 * reading SDK error names.
 */
export class SesBouncerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting is missing or malformed; raised at cold start. */
export class ConfigError extends SesBouncerError {}

/** Input from outside (event, rule item, CLI argument) does not fit its schema. */
export class ValidationError extends SesBouncerError {
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `Records.0.ses.mail.messageId`. */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
