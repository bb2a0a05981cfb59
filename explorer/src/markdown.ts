/**
 * The markdown of descriptions (JSDoc prose): paragraphs, `-` lists, `code`,
 * **strong**, *emphasis*, [links](https://…) and bare http(s) URLs. It yields a
 * tree that the page renders as elements, never as HTML, so markup in a
 * description is only ever text; a link whose target is not http(s) is its text.
 */
export type Inline =
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'code'; readonly v: string }
  | { readonly t: 'strong' | 'em'; readonly c: readonly Inline[] }
  | { readonly t: 'link'; readonly href: string; readonly c: readonly Inline[] };

export type Block =
  | { readonly t: 'p'; readonly c: readonly Inline[] }
  | { readonly t: 'ul'; readonly items: readonly (readonly Inline[])[] };

const INLINE =
  /`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])|\*\*([^*\s](?:[^*]*[^*\s])?)\*\*|(?<![\p{L}\p{N}_])__([^_\s](?:[^_]*[^_\s])?)__(?![\p{L}\p{N}_])|\*([^*\s](?:[^*]*[^*\s])?)\*|(?<![\p{L}\p{N}_])_([^_\s](?:[^_]*[^_\s])?)_(?![\p{L}\p{N}_])/gu;

/** The URL when it is an absolute http(s) one; anything else (javascript:, data:, relative) is not a link. */
export function safeHref(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  const push = (v: string): void => {
    if (!v) return;
    const last = out.at(-1);
    if (last?.t === 'text') out[out.length - 1] = { t: 'text', v: last.v + v };
    else out.push({ t: 'text', v });
  };
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    push(text.slice(at, m.index));
    at = m.index + m[0].length;
    const [whole, code, label, target, auto, bare, strong, strong2, em, em2] = m;
    if (code !== undefined) out.push({ t: 'code', v: code });
    else if (label !== undefined) {
      const href = safeHref(target!);
      if (href) out.push({ t: 'link', href, c: parseInline(label) });
      else push(whole); // not followable: shown as written
    } else if (auto !== undefined || bare !== undefined) {
      const url = (auto ?? bare)!;
      const href = safeHref(url);
      if (href) out.push({ t: 'link', href, c: [{ t: 'text', v: url }] });
      else push(whole);
    } else if (strong !== undefined || strong2 !== undefined) out.push({ t: 'strong', c: parseInline((strong ?? strong2)!) });
    else out.push({ t: 'em', c: parseInline((em ?? em2)!) });
  }
  push(text.slice(at));
  return out;
}

const BULLET = /^\s*[-*]\s+/;

export function parseMarkdown(text: string): Block[] {
  return text
    .trim()
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((para): Block => {
      const lines = para.split('\n');
      if (lines.every((l) => BULLET.test(l))) return { t: 'ul', items: lines.map((l) => parseInline(l.replace(BULLET, ''))) };
      return { t: 'p', c: parseInline(lines.map((l) => l.trim()).join(' ')) };
    });
}
