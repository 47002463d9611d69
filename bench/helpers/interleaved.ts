/**
 * Per-run milliseconds of each function over `n` rounds after `warm` untimed ones. Rounds
 * interleave the functions, so load from other processes on the machine falls on all of them alike.
 */
export async function interleaved(n: number, warm: number, fns: Record<string, () => Promise<unknown>>): Promise<Record<string, number[]>> {
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let i = 0; i < warm + n; i++) {
    for (const [k, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      await fn();
      if (i >= warm) ms[k].push(performance.now() - t0);
    }
  }
  return ms;
}
