// Every number the page shows itself (counts, row numbers, durations, percentages,
// countdowns) goes through here, so they all read the same: `1,234`, `1.5`.
const numbers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function num(n: number): string {
  return numbers.format(n);
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
