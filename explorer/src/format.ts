// Every number the page shows goes through here (counts, row numbers, durations,
// percentages, countdowns, and numbers in the data), so they all read the same:
// `1,234.5`. Digits are the shortest that read back as the same number (as JSON's),
// so data loses nothing; only the very large or small switch to `3.285E23`.
const plain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 });
const scientific = new Intl.NumberFormat('en-US', { notation: 'scientific', maximumFractionDigits: 20 });

export function num(n: number): string {
  const size = Math.abs(n);
  return n !== 0 && Number.isFinite(n) && (size >= 1e21 || size < 1e-6) ? scientific.format(n) : plain.format(n);
}

/** `1 item`, `1,234 items`. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${num(n)} ${n === 1 ? noun : plural}`;
}

export function ms(duration: number): string {
  return `${num(Math.round(duration))} ms`;
}

export function percent(p: number): string {
  return `${num(Math.round(p))}%`;
}

/** Whole seconds left, rounded up: `3 s` until it is over. */
export function secondsLeft(msLeft: number): string {
  return `${num(Math.max(0, Math.ceil(msLeft / 1000)))} s`;
}
