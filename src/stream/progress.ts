/**
 * Progress from inside a method: `yield progress('Indexing', 50)` in a generator, or
 * `subscriber.next(progress(...))` in an Observable. It is a value in the same
 * stream as the data, so ordering with data items is exactly the producer's.
 * The schema extractor removes `ProgressMark` from the item type.
 */
export interface ProgressMark {
  readonly __plexus: 'progress';
  readonly message: string;
  readonly percentage?: number;
}

export function progress(message: string, percentage?: number): ProgressMark {
  return percentage === undefined ? { __plexus: 'progress', message } : { __plexus: 'progress', message, percentage };
}

export function isProgressMark(value: unknown): value is ProgressMark {
  return typeof value === 'object' && value !== null && (value as { __plexus?: unknown }).__plexus === 'progress';
}
