/** Descriptions come from JSDoc, where `code` is common: show it as code, everything else as text. */
export function Markdownish({ text }: { text: string }) {
  const parts = text.split(/`([^`]+)`/);
  return <>{parts.map((p, i) => (i % 2 === 1 ? <code key={i}>{p}</code> : p))}</>;
}
