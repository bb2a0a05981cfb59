import type { StopDetail } from '../wire/items.js';

/**
 * How a call that ended normally stopped short: `yield stopAs('limited', {code:
 * 'acp:max_tokens'})` when a model hit its token limit, `stopAs('refused', …)` when it
 * declined. In the turn form it becomes the terminal's `stop` (the reference's
 * `StopReason`); the older form has no place for it and drops it, as the reference's
 * legacy projection does. The last mark before the end wins. The schema extractor
 * removes `StopMark` from the item type, like `ProgressMark`.
 */
export interface StopMark {
  readonly __plexus: 'stop';
  readonly kind: 'refused' | 'limited';
  readonly detail: StopDetail;
}

export function stopAs(kind: StopMark['kind'], detail: StopDetail): StopMark {
  return { __plexus: 'stop', kind, detail };
}
