const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `90s`, `30m`, `12h`, `7d`, `2w` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw new Error(`Invalid duration "${text}": use a number and a unit, e.g. 30m, 12h, 7d, 2w`);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) throw new Error(`Invalid duration "${text}": must be more than zero`);
  return ms;
}
