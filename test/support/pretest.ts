/**
 * What `npm test` does before the test files: build dist/ when a source is newer
 * (built.ts), then fill the schema cache in one batch (warm-schemas.ts). A failure to
 * warm costs time, not correctness: the files extract what they miss themselves.
 */
import { ensureBuilt } from './built.js';
import { warmSchemas } from './warm-schemas.js';

ensureBuilt();
const started = performance.now();
try {
  const { classes, extracted, failed } = await warmSchemas();
  const took = Math.round(performance.now() - started);
  process.stdout.write(`schema cache: ${classes} classes, ${extracted} extracted in ${took} ms\n`);
  for (const f of failed) process.stderr.write(`schema cache: not warmed: ${f}\n`);
} catch (err) {
  process.stderr.write(`schema cache: not warmed: ${String(err)}\n`);
}
