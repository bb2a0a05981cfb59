import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CallRun } from '../call-run.js';
import { fieldSpec, initialValue, pruneUndefined } from '../form-model.js';
import { secondsLeft } from '../format.js';
import type { Question } from '../questions.js';
import { Input, type Report } from './CallForm.js';
import { Markdown } from './Markdown.js';

/** The answer's field path (and `data-field`): cannot clash with a param's name. */
const ANSWER = '@answer';

/**
 * A question the running method asks, as a form generated from the answer's
 * schema: Yes/No for a boolean, a select for an enum, inputs or fieldsets for
 * the rest, a JSON editor for any JSON. The countdown is the server's timeout.
 */
export function QuestionForm({ run, question }: { run: CallRun; question: Question }) {
  const spec = useMemo(() => fieldSpec(question.schema ?? {}), [question]);
  const [value, setValue] = useState<unknown>(() => initialValue(spec, true));
  const [invalid, setInvalid] = useState(false);
  const [left, setLeft] = useState(() => question.deadline - performance.now());
  useEffect(() => {
    const timer = setInterval(() => setLeft(question.deadline - performance.now()), 250);
    return () => clearInterval(timer);
  }, [question]);

  // A question needs the user now: bring it into view and put the keyboard on its first control.
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    form.current?.scrollIntoView({ block: 'nearest' });
    form.current?.querySelector<HTMLElement>('input, select, textarea, button.primary')?.focus({ preventScroll: true });
  }, []);

  const report: Report = (_path, bad) => setInvalid(bad);
  const confirm = spec.field.kind === 'boolean';
  const submit = (e: Event): void => {
    e.preventDefault();
    if (!confirm && !invalid && value !== undefined) run.answer(pruneUndefined(value));
  };
  return (
    <form ref={form} class="question" data-testid="question" aria-label="The method asks" onSubmit={submit}>
      <div class="question-head">
        <b data-testid="question-prompt">{question.prompt}</b>
        <span class="grow" />
        <span class="muted" data-testid="question-countdown" title={`The method waits ${secondsLeft(question.timeoutMs)} in all`}>
          {secondsLeft(left)} left
        </span>
      </div>
      <progress class="question-time" max={question.timeoutMs} value={Math.max(0, left)} />
      {confirm ? null : (
        <div class="question-body">
          <Input spec={spec} required value={value} onChange={setValue} path={ANSWER} report={report} />
          {spec.description && (
            <div class="hint">
              <Markdown text={spec.description} inline />
            </div>
          )}
        </div>
      )}
      <div class="actions">
        {confirm ? (
          <>
            <button type="button" class="primary" data-testid="answer-yes" onClick={() => run.answer(true)}>
              Yes
            </button>
            <button type="button" data-testid="answer-no" onClick={() => run.answer(false)}>
              No
            </button>
          </>
        ) : (
          <button type="submit" class="primary" data-testid="answer" disabled={invalid || value === undefined}>
            Answer
          </button>
        )}
        <button
          type="button"
          data-testid="decline"
          title="Send no answer: the method is told the question was declined"
          onClick={() => run.decline()}
        >
          Decline
        </button>
      </div>
    </form>
  );
}

const OUTCOME = {
  answered: 'answered',
  declined: 'declined',
  cancelled: 'withdrawn: the call was cancelled or ended',
  expired: 'timed out',
} as const;

/** What became of the last question, once its form is gone. */
export function QuestionNote({ run }: { run: CallRun }) {
  const last = run.lastQuestion;
  if (!last || run.question) return null;
  return (
    <p class={`question-note ${last.outcome}`} data-testid="question-note" data-outcome={last.outcome} role="status">
      The question “{last.prompt}” {OUTCOME[last.outcome]}
      {last.outcome === 'expired' && ` after ${secondsLeft(last.timeoutMs)} without an answer`}.
    </p>
  );
}
