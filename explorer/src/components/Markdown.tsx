import type { ComponentChildren } from 'preact';
import { parseInline, parseMarkdown, type Inline } from '../markdown.js';

interface Props {
  readonly text: string;
  /** One line of inline markup (no paragraphs or lists). */
  readonly inline?: boolean;
  /** Inside a link already (tree rows, cards): links show as their text. */
  readonly noLinks?: boolean;
}

/** A description's markdown as elements (see markdown.ts: never HTML). */
export function Markdown({ text, inline, noLinks }: Props) {
  if (inline) return <>{spans(parseInline(text.replace(/\s*\n\s*/g, ' ')), !noLinks)}</>;
  return (
    <div class="md">
      {parseMarkdown(text).map((b, i) =>
        b.t === 'p' ? (
          <p key={i}>{spans(b.c, !noLinks)}</p>
        ) : (
          <ul key={i}>
            {b.items.map((item, j) => (
              <li key={j}>{spans(item, !noLinks)}</li>
            ))}
          </ul>
        ),
      )}
    </div>
  );
}

function spans(nodes: readonly Inline[], links: boolean): ComponentChildren[] {
  return nodes.map((n, i) => {
    switch (n.t) {
      case 'text':
        return n.v;
      case 'code':
        return <code key={i}>{n.v}</code>;
      case 'strong':
        return <strong key={i}>{spans(n.c, links)}</strong>;
      case 'em':
        return <em key={i}>{spans(n.c, links)}</em>;
      default:
        return links ? (
          <a key={i} href={n.href} target="_blank" rel="noopener noreferrer">
            {spans(n.c, links)}
          </a>
        ) : (
          <span key={i}>{spans(n.c, links)}</span>
        );
    }
  });
}
