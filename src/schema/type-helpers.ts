/**
 * Type-level helpers the schema extractor's synthetic program imports. They turn a
 * method's declared return type into the type of one data item.
 */
// The module that declares Observable (rxjs exports ./internal/* for types): the same class
// as `rxjs`'s, without the 190 declaration files its index re-exports into every extraction.
import type { Observable } from 'rxjs/internal/Observable';
import type { ProgressMark } from '../stream/progress.js';
import type { StopMark } from '../stream/stop.js';

type Unwrap<R> =
  R extends PromiseLike<infer T>
    ? Unwrap<T>
    : R extends AsyncIterable<infer T>
      ? T
      : R extends Generator<infer T>
        ? T
        : R extends Observable<infer T>
          ? T
          : R;

// A method returning void yields `null` items; `void` (not `undefined`) is what the checker gives it.
// biome-ignore lint/suspicious/noConfusingVoidType: matching `void` is the point.
type VoidToNull<T> = [T] extends [void] ? null : T;

// The content type of one `data` item a method with return type `R` produces.
// (Line comments, not JSDoc: a JSDoc here would become every item's description.)
export type ItemOf<R> = VoidToNull<Exclude<Unwrap<R>, ProgressMark | StopMark>>;

// The parameters of a method type.
export type ArgsOf<F> = F extends (...args: infer P) => unknown ? P : never;
