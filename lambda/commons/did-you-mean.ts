/**
 * "Did you mean …?" for names people type: command words, flags, rule
 * attributes. Pure and small enough for the functions' bundles.
 */

/**
 * Edit distance between two strings where inserting, deleting or replacing a
 * character, or swapping two neighbours (`lsit` for `list`), costs 1: the
 * optimal-string-alignment variant of Damerau-Levenshtein.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `input`, compared without case, when it is close
 * enough to be a slip of the keyboard: at most `maxDistance` edits (default:
 * half the input's length, at least 1, at most 3). Ties go to the
 * earlier candidate, so callers list the likelier names first.
 */
export function closestName(input: string, candidates: Iterable<string>, maxDistance?: number): string | undefined {
  const lower = input.toLowerCase();
  const limit = maxDistance ?? Math.min(3, Math.max(1, Math.floor(lower.length / 2)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance && d <= limit) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` when a close candidate exists, else the empty string. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const meant = closestName(input, candidates);
  return meant === undefined ? '' : ` (did you mean ${JSON.stringify(meant)}?)`;
}
