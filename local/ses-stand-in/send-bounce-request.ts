/**
 * Decodes and validates the form fields of a SendBounce call the way SES does.
 *
 * Two kinds of failure, as SES reports them:
 * - `ValidationError`: the request does not fit the API model (a required
 *   member is null, an enum value is unknown). SES reports every such
 *   violation at once, in its "N validation errors detected: ..." wording, with
 *   camelCase member paths like `bouncedRecipientInfoList.1.member.recipient`.
 * - `InvalidParameterValue`: the request fits the model but a value is
 *   malformed (an address, a DSN status, a date). The first one found is reported.
 */
import { parseAddressList } from '../../lambda/mail/address-list';

export const BOUNCE_TYPES = [
  'DoesNotExist',
  'MessageTooLarge',
  'ExceededQuota',
  'ContentRejected',
  'Undefined',
  'TemporaryFailure',
] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

export const DSN_ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;
export type DsnAction = (typeof DSN_ACTIONS)[number];

export interface ExtensionField {
  readonly name: string;
  readonly value: string;
}

export interface RecipientDsnFields {
  readonly action: DsnAction;
  /** RFC 3463 status, e.g. `5.1.1`. */
  readonly status: string;
  /** A bare address; rendered as `rfc822; <address>`. */
  readonly finalRecipient?: string;
  /** `mta-name-type; mta-name`, e.g. `dns; mx.example.com`. */
  readonly remoteMta?: string;
  readonly diagnosticCode?: string;
  /** ISO 8601 as sent on the wire. */
  readonly lastAttemptDate?: string;
  readonly extensionFields: readonly ExtensionField[];
}

export interface BouncedRecipientInfo {
  readonly recipient: string;
  readonly recipientArn?: string;
  readonly bounceType?: BounceType;
  readonly recipientDsnFields?: RecipientDsnFields;
}

export interface MessageDsn {
  readonly reportingMta: string;
  /** ISO 8601 as sent on the wire. */
  readonly arrivalDate?: string;
  readonly extensionFields: readonly ExtensionField[];
}

/** A SendBounce request, decoded from its Query-protocol form fields. */
export interface SendBounceRequest {
  readonly originalMessageId: string;
  readonly bounceSender: string;
  readonly bounceSenderArn?: string;
  readonly explanation?: string;
  readonly messageDsn?: MessageDsn;
  readonly bouncedRecipients: readonly BouncedRecipientInfo[];
}

export type SendBounceDecodeResult =
  | { readonly ok: true; readonly request: SendBounceRequest }
  | { readonly ok: false; readonly code: 'ValidationError' | 'InvalidParameterValue'; readonly message: string };

/** Largest ExtensionField value SES accepts. */
export const MAX_EXTENSION_VALUE_LENGTH = 2048;

const ADDRESS = /^[^\s@<>()[\],;:"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const DSN_STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
const MTA_NAME = /^([A-Za-z][A-Za-z0-9-]*);[ \t]*(\S+)$/;
const DNS_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const EXTENSION_NAME = /^[A-Za-z0-9-]{1,50}$/;

/** True for `local@domain`. */
export function isAddress(value: string): boolean {
  return ADDRESS.test(value);
}

/**
 * The address of a BounceSender written as `addr` or `Display Name <addr>`
 * (parsed by the project's one address-list parser), or undefined when the
 * value is not exactly one valid mailbox.
 */
export function extractAddress(value: string): string | undefined {
  // A group or a list is not one sender; the parser would take them apart.
  if (/[,;:]/.test(value.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return undefined;
  const mailboxes = parseAddressList(value);
  if (mailboxes.length !== 1) return undefined;
  const { address } = mailboxes[0];
  // `name <addr>` must be written with the brackets: a bare value is only the address.
  if (!value.includes('<') && address !== value.trim()) return undefined;
  return ADDRESS.test(address) ? address : undefined;
}

/** True for an ISO 8601 date-time that names a real instant. */
export function isIso8601(value: string): boolean {
  return ISO_8601.test(value) && Number.isFinite(Date.parse(value));
}

/**
 * Indices of the members of a Query-protocol list (`<prefix>.member.N...`),
 * ascending. `present` is also true for an empty list, which the SDK sends as
 * a bare `<prefix>=`.
 */
function listMembers(params: Readonly<Record<string, string>>, prefix: string): { present: boolean; indices: number[] } {
  const head = `${prefix}.member.`;
  const indices = new Set<number>();
  for (const key of Object.keys(params)) {
    if (!key.startsWith(head)) continue;
    const n = Number(key.slice(head.length).split('.')[0]);
    if (Number.isInteger(n) && n > 0) indices.add(n);
  }
  return { present: indices.size > 0 || prefix in params, indices: [...indices].sort((a, b) => a - b) };
}

function hasGroup(params: Readonly<Record<string, string>>, prefix: string): boolean {
  return Object.keys(params).some((key) => key.startsWith(`${prefix}.`) || key === prefix);
}

/** Lower-cases the first letter of each path segment, as SES's messages do. */
function modelPath(wirePath: string): string {
  return wirePath
    .split('.')
    .map((segment) => segment.charAt(0).toLowerCase() + segment.slice(1))
    .join('.')
    .replace(/member\.(\d+)/g, '$1.member');
}

class Problems {
  readonly violations: string[] = [];
  invalid?: string;

  missing(wirePath: string): void {
    this.violations.push(`Value null at '${modelPath(wirePath)}' failed to satisfy constraint: Member must not be null`);
  }

  notInEnum(wirePath: string, value: string, allowed: readonly string[]): void {
    this.violations.push(
      `Value '${value}' at '${modelPath(wirePath)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }

  /** Keeps the first semantic problem only: SES stops at the first bad value. */
  bad(message: string): void {
    this.invalid ??= message;
  }
}

function decodeExtensionFields(params: Readonly<Record<string, string>>, prefix: string, problems: Problems): ExtensionField[] {
  const fields: ExtensionField[] = [];
  for (const n of listMembers(params, prefix).indices) {
    const path = `${prefix}.member.${n}`;
    const name = params[`${path}.Name`];
    const value = params[`${path}.Value`];
    if (name === undefined) problems.missing(`${path}.Name`);
    if (value === undefined) problems.missing(`${path}.Value`);
    if (name === undefined || value === undefined) continue;
    if (!EXTENSION_NAME.test(name)) {
      problems.bad(`invalid ${path}.Name '${name}': must be 1 to 50 letters, digits or dashes`);
    }
    if (value.length > MAX_EXTENSION_VALUE_LENGTH) {
      problems.bad(`invalid ${path}.Value for '${name}': ${value.length} characters, at most ${MAX_EXTENSION_VALUE_LENGTH} allowed`);
    }
    fields.push({ name, value });
  }
  return fields;
}

function checkMtaName(field: string, value: string, problems: Problems): void {
  const match = MTA_NAME.exec(value);
  if (!match || (match[1].toLowerCase() === 'dns' && !DNS_NAME.test(match[2]))) {
    problems.bad(`invalid ${field} '${value}': expected 'mta-name-type; mta-name' as in RFC 3464, e.g. 'dns; mta.example.com'`);
  }
}

function checkDate(field: string, value: string | undefined, problems: Problems): void {
  if (value !== undefined && !isIso8601(value)) problems.bad(`invalid ${field} '${value}': expected an ISO 8601 date-time`);
}

function decodeRecipientDsnFields(
  params: Readonly<Record<string, string>>,
  prefix: string,
  problems: Problems,
): RecipientDsnFields | undefined {
  const get = (name: string) => params[`${prefix}.${name}`];
  const action = get('Action');
  const status = get('Status');
  if (action === undefined) problems.missing(`${prefix}.Action`);
  else if (!(DSN_ACTIONS as readonly string[]).includes(action)) problems.notInEnum(`${prefix}.Action`, action, DSN_ACTIONS);
  if (status === undefined) problems.missing(`${prefix}.Status`);
  else if (!DSN_STATUS.test(status)) {
    problems.bad(`invalid ${prefix}.Status '${status}': expected an RFC 3463 status like '5.1.1' (class 2, 4 or 5)`);
  }
  const finalRecipient = get('FinalRecipient');
  if (finalRecipient !== undefined && !isAddress(finalRecipient)) {
    problems.bad(`invalid ${prefix}.FinalRecipient '${finalRecipient}': expected a bare email address (no 'rfc822;' prefix)`);
  }
  const remoteMta = get('RemoteMta');
  if (remoteMta !== undefined) checkMtaName(`${prefix}.RemoteMta`, remoteMta, problems);
  checkDate(`${prefix}.LastAttemptDate`, get('LastAttemptDate'), problems);
  const extensionFields = decodeExtensionFields(params, `${prefix}.ExtensionFields`, problems);
  if (action === undefined || status === undefined) return undefined;
  return {
    action: action as DsnAction,
    status,
    finalRecipient,
    remoteMta,
    diagnosticCode: get('DiagnosticCode'),
    lastAttemptDate: get('LastAttemptDate'),
    extensionFields,
  };
}

function decodeRecipients(params: Readonly<Record<string, string>>, problems: Problems): BouncedRecipientInfo[] {
  const list = listMembers(params, 'BouncedRecipientInfoList');
  if (!list.present) {
    problems.missing('BouncedRecipientInfoList');
    return [];
  }
  if (list.indices.length === 0) problems.bad('invalid BouncedRecipientInfoList: at least one recipient is required');
  // Each member's own fields, grouped once: looking them up in the whole
  // form per member was quadratic (2,000 recipients took over 10 s).
  const members = new Map<string, Record<string, string>>();
  for (const [key, value] of Object.entries(params)) {
    const member = /^BouncedRecipientInfoList\.member\.\d+/.exec(key)?.[0];
    if (member === undefined) continue;
    let fields = members.get(member);
    if (!fields) members.set(member, (fields = {}));
    fields[key] = value;
  }
  const recipients: BouncedRecipientInfo[] = [];
  for (const n of list.indices) {
    const path = `BouncedRecipientInfoList.member.${n}`;
    const own = members.get(path) ?? {};
    const recipient = own[`${path}.Recipient`];
    const bounceType = own[`${path}.BounceType`];
    const hasDsnFields = hasGroup(own, `${path}.RecipientDsnFields`);
    if (recipient === undefined) problems.missing(`${path}.Recipient`);
    else if (!isAddress(recipient)) problems.bad(`invalid ${path}.Recipient '${recipient}': expected an email address`);
    if (bounceType !== undefined && !(BOUNCE_TYPES as readonly string[]).includes(bounceType)) {
      problems.notInEnum(`${path}.BounceType`, bounceType, BOUNCE_TYPES);
    }
    // SES documents "either BounceType or RecipientDsnFields"; the stand-in
    // reads that as exactly one, so a request relying on precedence fails here.
    if (bounceType === undefined && !hasDsnFields) {
      problems.bad(`invalid ${path}: either BounceType or RecipientDsnFields is required for '${recipient ?? ''}'`);
    } else if (bounceType !== undefined && hasDsnFields) {
      problems.bad(`invalid ${path}: give BounceType or RecipientDsnFields for '${recipient ?? ''}', not both`);
    }
    const dsnFields = hasDsnFields ? decodeRecipientDsnFields(own, `${path}.RecipientDsnFields`, problems) : undefined;
    if (recipient === undefined) continue;
    recipients.push({
      recipient,
      recipientArn: own[`${path}.RecipientArn`],
      bounceType: bounceType as BounceType | undefined,
      recipientDsnFields: dsnFields,
    });
  }
  return recipients;
}

function decodeMessageDsn(params: Readonly<Record<string, string>>, problems: Problems): MessageDsn | undefined {
  if (!hasGroup(params, 'MessageDsn')) return undefined;
  const reportingMta = params['MessageDsn.ReportingMta'];
  if (reportingMta === undefined) problems.missing('MessageDsn.ReportingMta');
  else checkMtaName('MessageDsn.ReportingMta', reportingMta, problems);
  const arrivalDate = params['MessageDsn.ArrivalDate'];
  checkDate('MessageDsn.ArrivalDate', arrivalDate, problems);
  const extensionFields = decodeExtensionFields(params, 'MessageDsn.ExtensionFields', problems);
  return reportingMta === undefined ? undefined : { reportingMta, arrivalDate, extensionFields };
}

/**
 * Decodes the form fields of a SendBounce call and validates them as SES
 * does. Values containing CR or LF are refused in every field (Explanation
 * included): they would end up in the DSN's header-like fields.
 */
export function decodeSendBounce(params: Readonly<Record<string, string>>): SendBounceDecodeResult {
  const problems = new Problems();
  for (const [key, value] of Object.entries(params)) {
    if (/[\r\n]/.test(value)) problems.bad(`invalid ${key} ${JSON.stringify(value)}: CR and LF are not allowed`);
  }
  const originalMessageId = params.OriginalMessageId;
  const bounceSender = params.BounceSender;
  if (originalMessageId === undefined) problems.missing('OriginalMessageId');
  else if (originalMessageId.trim() === '') problems.bad(`invalid OriginalMessageId '${originalMessageId}': must not be empty`);
  if (bounceSender === undefined) problems.missing('BounceSender');
  else if (!extractAddress(bounceSender)) problems.bad(`invalid BounceSender '${bounceSender}': expected an email address`);
  const bouncedRecipients = decodeRecipients(params, problems);
  const messageDsn = decodeMessageDsn(params, problems);

  if (problems.violations.length > 0) {
    const n = problems.violations.length;
    return {
      ok: false,
      code: 'ValidationError',
      message: `${n} validation error${n > 1 ? 's' : ''} detected: ${problems.violations.join('; ')}`,
    };
  }
  if (problems.invalid !== undefined) return { ok: false, code: 'InvalidParameterValue', message: problems.invalid };
  return {
    ok: true,
    request: {
      originalMessageId: originalMessageId as string,
      bounceSender: bounceSender as string,
      bounceSenderArn: params.BounceSenderArn,
      explanation: params.Explanation,
      messageDsn,
      bouncedRecipients,
    },
  };
}
