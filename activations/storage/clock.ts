/** Milliseconds since the epoch; injected so tests can move time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Unix seconds, the unit of every stored timestamp (as in the reference). */
export const seconds = (clock: Clock): number => Math.floor(clock() / 1000);
