/** Messages for a name that is not one of the declared ones: the valid choices and the nearest of them. */

/** Edits between two strings, a swap of two neighbours counting as one (optimal string alignment distance). */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The choice a typo most likely meant: the nearest one, when it is within a third of the value's length (at least
 * one edit), so that "suport" suggests "support" but "marketing" suggests nothing. Ties go to the first choice.
 */
export function closestChoice(value: string, choices: Iterable<string>): string | undefined {
  const allowed = Math.max(1, Math.floor(value.length / 3));
  let best: { choice: string; distance: number } | undefined;
  for (const choice of choices) {
    const distance = editDistance(value.toLowerCase(), choice.toLowerCase());
    if (distance <= allowed && (!best || distance < best.distance)) best = { choice, distance };
  }
  return best?.choice;
}

/** `unknown role "suport" (expected one of: support, fraud; did you mean "support"?)`. */
export function unknownChoice(kind: string, value: string, choices: Iterable<string>): string {
  const list = [...choices];
  const nearest = closestChoice(value, list);
  const expected = list.length > 0 ? `expected one of: ${list.join(', ')}` : `none is declared`;
  return `unknown ${kind} "${value}" (${expected}${nearest ? `; did you mean "${nearest}"?` : ''})`;
}
