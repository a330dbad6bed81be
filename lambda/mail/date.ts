/**
 * RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 02 Jan 2024 03:04:05 +0000`: the
 * one formatter for the `Received` line local mode adds and the DSN's Date
 * fields. `Date#toUTCString` already writes RFC 7231's IMF-fixdate, which is
 * RFC 5322's form with `GMT` for the zone (nodemailer's composer does the same).
 */
export function formatRfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}
