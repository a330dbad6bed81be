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

/** Reading the stored raw message failed (S3 error other than a missing object). */
export class MailStoreError extends SesBouncerError {}

/**
 * The stored raw message does not exist. The S3 action runs before the Lambda
 * action, so this is a real fault (wrong bucket/prefix, lifecycle too short),
 * never a reason to bounce.
 */
export class MailNotFoundError extends MailStoreError {
  constructor(
    /** The object key that was looked up. */
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`stored message not found at key ${JSON.stringify(key)}`, options);
  }
}

/** The stored message is too broken for the MIME parser to continue (e.g. too many parts). */
export class MalformedMailError extends SesBouncerError {}
