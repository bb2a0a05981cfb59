import type { Command } from 'commander';
import { checkSecretName, resolveDataDir, SecretStore } from '../../src/auth/index.js';
import { dataDirOption } from '../options.js';

/** Secrets are this long at most (an API key is ~100 bytes; a PEM key a few KiB). */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The value, never from argv (it would show in `ps` and shell history): typed at a
 * prompt without echo when stdin is a terminal, else all of stdin (one trailing
 * newline dropped).
 */
async function readValue(name: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return promptHidden(`value for ${name} (not echoed): `);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SECRET_BYTES) throw new Error(`secret ${name}: more than ${MAX_SECRET_BYTES} bytes on stdin`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** `hub secret set|list|rm`: the data dir's secret store (`<data dir>/secrets/<name>`, owner-only). */
export function addSecretCommand(program: Command): void {
  const secret = program
    .command('secret')
    .description("manage the hub's secrets (e.g. LLM API keys), stored owner-only under <data dir>/secrets/");

  secret
    .command('set')
    .description('store a secret; the value is read from stdin or a prompt, never from the command line')
    .argument('<name>', 'e.g. OPENAI_API_KEY (cone looks provider keys up by their env var name)')
    .addOption(dataDirOption())
    .action(async (name: string, opts) => {
      checkSecretName(name);
      const value = await readValue(name);
      const store = new SecretStore(resolveDataDir(opts.dataDir));
      store.set(name, value);
      process.stderr.write(`stored ${name} in ${store.dir} (owner-only)\n`);
    });

  secret
    .command('list')
    .description('list the names of the stored secrets (never their values)')
    .addOption(dataDirOption())
    .action((opts) => {
      for (const name of new SecretStore(resolveDataDir(opts.dataDir)).list()) process.stdout.write(`${name}\n`);
    });

  secret
    .command('rm')
    .description('remove a secret')
    .argument('<name>')
    .addOption(dataDirOption())
    .action((name: string, opts) => {
      if (!new SecretStore(resolveDataDir(opts.dataDir)).remove(name)) throw new Error(`no secret named "${name}"`);
      process.stderr.write(`removed ${name}\n`);
    });
}
