import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { type ApprovalEvent, type PendingApproval, readOwnerFile, resolveDataDir } from '../../src/auth/index.js';
import { PlexusClient } from '../../src/index.js';
import { dataDirOption } from '../options.js';

/**
 * A client of the hub serving this data dir, as its owner: the owner key from
 * `<data dir>/owner.json` (readable only by the data dir's owner) is the credential.
 */
function ownerClient(dataDirOption: string | undefined): PlexusClient {
  const owner = readOwnerFile(resolveDataDir(dataDirOption));
  return new PlexusClient({ url: owner.url, token: owner.key, root: owner.hub, connectAttempts: 1 });
}

async function withOwner<T>(opts: { dataDir?: string }, fn: (client: PlexusClient) => Promise<T>): Promise<T> {
  const client = ownerClient(opts.dataDir);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))}s`;

/** One pending call on one line: id, who, what, the params, time left. */
function describe(a: PendingApproval, now = Date.now()): string {
  const who = `${a.principal.name} (${a.principal.token_id}${a.principal.remote ? ` from ${a.principal.remote}` : ''})`;
  return `${a.id}  ${who}  ${a.path}  ${JSON.stringify(a.params)}  deadline in ${seconds(a.deadline - now)}`;
}

/** `hub approvals [list] | approve <id> [--window 10m] | deny <id> | watch | open`: the owner's side of execute approvals. */
export function addApprovalsCommand(program: Command): void {
  const approvals = program
    .command('approvals')
    .description("the execute calls waiting for the owner's approval on the hub serving this data dir (`hub approvals` lists them)");

  const list = (opts: { dataDir?: string; json?: boolean }) =>
    withOwner(opts, async (client) => {
      const pending = await client.result<PendingApproval[]>('_approvals.list');
      if (opts.json) return void process.stdout.write(`${JSON.stringify(pending, null, 2)}\n`);
      if (pending.length === 0) return void process.stdout.write('no calls are waiting for approval\n');
      for (const a of pending) process.stdout.write(`${describe(a)}\n`);
    });

  approvals
    .command('list', { isDefault: true })
    .description('list the calls waiting for approval (the default)')
    .addOption(dataDirOption())
    .option('--json', 'print them as JSON')
    .action(async (opts) => list(opts));

  approvals
    .command('approve')
    .description('approve one waiting call (and with --window, identical calls of the same token for that long)')
    .argument('<id>', 'the pending approval (apr_…)')
    .option('--window <duration>', 'also let identical calls (same token, path and params) through for this long, at most 1h (30s, 10m)')
    .addOption(dataDirOption())
    .action(async (id: string, opts) =>
      withOwner(opts, async (client) => {
        await client.result('_approvals.approve', { id, ...(opts.window ? { window: opts.window } : {}) });
        process.stdout.write(`approved ${id}${opts.window ? ` (identical calls for ${opts.window})` : ''}\n`);
      }),
    );

  approvals
    .command('deny')
    .description('deny one waiting call: it fails with execute_not_approved')
    .argument('<id>', 'the pending approval (apr_…)')
    .option('--reason <text>', 'told to the caller in the error')
    .addOption(dataDirOption())
    .action(async (id: string, opts) =>
      withOwner(opts, async (client) => {
        await client.result('_approvals.deny', { id, ...(opts.reason ? { reason: opts.reason } : {}) });
        process.stdout.write(`denied ${id}\n`);
      }),
    );

  approvals
    .command('open')
    .description('print a new one-time owner URL for the explorer (approve and deny there)')
    .addOption(dataDirOption())
    .action(async (opts) =>
      withOwner(opts, async (client) => {
        const { code } = await client.result<{ code: string }>('_approvals.code');
        const owner = readOwnerFile(resolveDataDir(opts.dataDir));
        process.stdout.write(`http://${owner.url.slice('ws://'.length)}/?owner=${code}\n`);
      }),
    );

  approvals
    .command('watch')
    .description('show calls as they come to wait for approval; at a terminal, ask y/n (or a window like 10m) for each')
    .addOption(dataDirOption())
    .action(async (opts) => watch(opts));
}

/** Prints each event as it comes; at a terminal, asks about each new pending call in turn. */
async function watch(opts: { dataDir?: string }): Promise<void> {
  const client = ownerClient(opts.dataDir);
  const ask = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  const queue: PendingApproval[] = [];
  const open = new Set<string>();
  let asking = false;
  // The question on screen: withdrawn when its call is decided elsewhere, withdrawn or expired.
  let prompt: { id: string; abort: AbortController } | undefined;
  const next = async (): Promise<void> => {
    if (!ask || asking) return;
    asking = true;
    for (let a = queue.shift(); a; a = queue.shift()) {
      if (!open.has(a.id)) continue;
      prompt = { id: a.id, abort: new AbortController() };
      let answer: string;
      try {
        answer = (await ask.question(`approve ${a.id} ${a.path}? [y = once / 10m = window / n] `, { signal: prompt.abort.signal }))
          .trim()
          .toLowerCase();
      } catch {
        continue; // withdrawn: the event's own line says how it ended
      } finally {
        prompt = undefined;
      }
      if (!open.has(a.id)) {
        process.stdout.write(`${a.id} was already decided, withdrawn or expired\n`);
        continue;
      }
      const approve = answer === 'y' || answer === 'yes' || /^\d+[smh]$/.test(answer);
      const method = approve ? '_approvals.approve' : '_approvals.deny';
      const window = /^\d+[smh]$/.test(answer) ? { window: answer } : {};
      await client.result(method, { id: a.id, ...window }).catch((err: Error) => process.stdout.write(`${err.message}\n`));
    }
    asking = false;
  };
  const stop = () => {
    ask?.close();
    client.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  try {
    for await (const item of client.call('_approvals.watch')) {
      if (item.type === 'error') throw new Error(item.message);
      if (item.type !== 'data') continue;
      const event = item.content as ApprovalEvent;
      if (event.type === 'pending') {
        open.add(event.approval.id);
        process.stdout.write(`pending ${describe(event.approval)}\n`);
        queue.push(event.approval);
        void next();
      } else {
        open.delete(event.id);
        const withdrawn = prompt?.id === event.id;
        if (withdrawn) prompt!.abort.abort();
        process.stdout.write(
          `${withdrawn ? '\n' : ''}${event.outcome} ${event.id}${event.window_ms ? ` (window ${seconds(event.window_ms)})` : ''}${withdrawn ? ': no answer needed any more' : ''}\n`,
        );
      }
    }
  } finally {
    ask?.close();
    client.close();
  }
}
