import { formatRfc5322Date } from '../../../lambda/mail/date';

describe('formatRfc5322Date', () => {
  it('formats in UTC with a zero offset when given a date', () => {
    expect(formatRfc5322Date(new Date('2024-12-31T23:59:09.999Z'))).toBe('Tue, 31 Dec 2024 23:59:09 +0000');
  });

  it('pads the day of the month to two digits', () => {
    expect(formatRfc5322Date(new Date('2025-03-02T04:05:06Z'))).toBe('Sun, 02 Mar 2025 04:05:06 +0000');
  });
});
