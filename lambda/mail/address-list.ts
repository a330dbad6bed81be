/**
 * Address-list header values (From, To, Cc, Reply-To, a BounceSender), parsed
 * by nodemailer's addressparser (RFC 5322 §3.4: display names, quoted
 * strings, comments, groups). One parser for lambda/, local/ and cli/; it adds
 * about 11 KB to a bundle.
 */
import addressparser from 'nodemailer/lib/addressparser';

/** One mailbox of an address list. */
export interface Mailbox {
  /** The display name (or the comment that stood for one), as written: encoded words are not decoded. */
  readonly name: string;
  /** `local@domain`, trimmed; '' when the entry had none. */
  readonly address: string;
}

/** The mailboxes of an address-list value, group members included, in order. */
export function parseAddressList(value: string): Mailbox[] {
  return addressparser(value, { flatten: true }).map((m) => ({ name: m.name.trim(), address: m.address.trim() }));
}

/** The addresses (`local@domain`) of an address-list value; entries without one are left out. */
export function addressesIn(value: string): string[] {
  return parseAddressList(value)
    .map((m) => m.address)
    .filter((a) => /^[^\s@]+@[^\s@]+$/.test(a));
}

/** Specials that make a display name need quotes (RFC 5322 §3.2.3). */
const NEEDS_QUOTES = /[()<>[\]:;@\\,."]/;

/** A mailbox written back as `name <address>` (name quoted when it needs it), or the bare address. */
export function formatMailbox(mailbox: Mailbox): string {
  if (mailbox.name === '') return mailbox.address;
  const name = NEEDS_QUOTES.test(mailbox.name) ? `"${mailbox.name.replace(/(["\\])/g, '\\$1')}"` : mailbox.name;
  return mailbox.address === '' ? name : `${name} <${mailbox.address}>`;
}
