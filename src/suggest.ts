/**
 * "Did you mean" hints for names a user mistyped: columns, functions, step types, permissions. Shared by every
 * domain that refuses an unknown name, so they all suggest alike.
 */

/**
 * Names close to a misspelt one, best first: within an edit distance of a third of its length, or, when none is,
 * names containing it or contained in it (`temp` → `temperature`).
 */
export function nearMatches(wanted: string, candidates: Iterable<string>, limit = 3): string[] {
  const w = wanted.toLowerCase();
  const budget = Math.max(1, Math.floor(w.length / 3));
  const close: { name: string; score: number }[] = [];
  const containing: string[] = [];
  for (const name of candidates) {
    const n = name.toLowerCase();
    const d = distance(w, n, budget);
    if (d <= budget) close.push({ name, score: d });
    else if (w.length >= 3 && n.length >= 3 && (n.includes(w) || w.includes(n))) containing.push(name);
  }
  const ranked = close.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name)).map((s) => s.name);
  return (ranked.length > 0 ? ranked : containing.sort()).slice(0, limit);
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment); `budget + 1` once it must exceed `budget`. */
function distance(a: string, b: string, budget: number): number {
  if (Math.abs(a.length - b.length) > budget) return budget + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, (before[j - 2] ?? 0) + 1);
      current.push(value);
    }
    if (Math.min(...current) > budget) return budget + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? budget + 1;
}

/** `did you mean 'a' or 'b'?`, or undefined when nothing is close. */
export function didYouMean(matches: string[], quote: (s: string) => string): string | undefined {
  if (matches.length === 0) return undefined;
  const quoted = matches.map((m) => quote(m));
  const last = quoted.pop();
  return `did you mean ${quoted.length > 0 ? `${quoted.join(', ')} or ${last}` : last}?`;
}
