import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { buildExtension } from '../../activations/extension/activation.js';
import { builtinActivations } from '../../activations/index.js';
import { OPTIONAL_ACTIVATIONS } from '../../activations/optional.js';
import type { ExtensionManifest } from '../../activations/extension/manifest.js';
import { ExtensionStore } from '../../activations/extension/store.js';
import { describeSurface, validateManifest, type Verdict } from '../../activations/extension/validate.js';
import { resolveDataDir, SecretStore } from '../../src/auth/index.js';
import { toActivation } from '../../src/index.js';
import { dataDirOption } from '../options.js';

/** Names the hub's own activations take (built-ins and --with ones): an extension by such a name would collide. */
const RESERVED = new Set<string>([...builtinActivations().map((a) => toActivation(a).namespace), ...OPTIONAL_ACTIVATIONS]);

function readManifest(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
}

/** Validates against the store too: workflow members in other sources are checked against the installed ones. */
function check(store: ExtensionStore, value: unknown): Verdict {
  const verdict = validateManifest(value);
  const installed = new Set<string>();
  for (const r of store.list().installed) for (const c of r.manifest.capabilities) installed.add(`${r.manifest.source}.${c.name}`);
  const source = verdict.manifest?.source;
  if (source && RESERVED.has(source)) {
    verdict.warnings.push(
      `source "${source}" is also a built-in or opt-in activation's name: a hub serving that one skips this extension; choose another source id`,
    );
  }
  for (const member of verdict.surface.crossSource) {
    if (!installed.has(member)) {
      verdict.warnings.push(`workflow member ${member} is not an installed extension's capability; a call fails unless the hub serves it`);
    }
  }
  return verdict;
}

function report(verdict: Verdict, out: NodeJS.WritableStream): void {
  const m = verdict.manifest;
  out.write(`${verdict.valid ? 'valid' : 'NOT valid'}${m?.source ? `: source ${m.source}${m.label ? ` (${m.label})` : ''}` : ''}\n`);
  for (const r of verdict.reasons) out.write(`  reason: ${r}\n`);
  for (const w of verdict.warnings) out.write(`  warning: ${w}\n`);
  if (!verdict.valid) return;
  out.write('approval surface (what installing it lets the hub do):\n');
  for (const line of describeSurface(verdict.surface)) out.write(`  ${line}\n`);
}

const owner = (): string => {
  try {
    return `owner:${userInfo().username}`;
  } catch {
    return 'owner';
  }
};

/** `hub extension preview|add|list|remove`: the data dir's installed extensions; a running hub follows them. */
export function addExtensionCommand(program: Command): void {
  const ext = program
    .command('extension')
    .description('install capabilities from a plexus-extension/0.1 manifest (docs/extensions.md); installing grants nothing');

  ext
    .command('preview')
    .description('validate a manifest and show its approval surface, without installing it')
    .argument('<manifest>', 'the manifest (JSON)')
    .option('--json', 'print {valid, reasons, warnings, surface} as JSON')
    .addOption(dataDirOption())
    .action((file: string, opts) => {
      const verdict = check(new ExtensionStore(resolveDataDir(opts.dataDir)), readManifest(file));
      if (opts.json) {
        const { manifest: _m, ...shown } = verdict;
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      } else report(verdict, process.stdout);
      if (!verdict.valid) process.exitCode = 1;
    });

  ext
    .command('add')
    .description('install a manifest: shows its approval surface and asks to confirm (at a terminal), then a running hub serves it')
    .argument('<manifest>', 'the manifest (JSON)')
    .option('-y, --yes', 'approve the surface without asking (review it first with hub extension preview)')
    .addOption(dataDirOption())
    .action(async (file: string, opts) => {
      const store = new ExtensionStore(resolveDataDir(opts.dataDir));
      const verdict = check(store, readManifest(file));
      report(verdict, process.stderr);
      if (!verdict.valid) throw new Error(`${file} is not a valid manifest: fix the reasons above and run hub extension preview ${file}`);
      const manifest = verdict.manifest as ExtensionManifest;
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new Error('not a terminal, so nobody can approve the surface above: review it, then pass --yes');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`install ${manifest.source} with this surface? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) throw new Error('not installed (not approved)');
      }
      const replaced = store.get(manifest.source) !== undefined;
      store.add(manifest, verdict.surface);
      const { bins, hosts, crossSource, dirs } = verdict.surface;
      const audited = store.audit({
        event: 'source.install',
        principal: owner(),
        path: manifest.source,
        outcome: 'ok',
        params: {
          bins,
          capabilities: manifest.capabilities.map((c) => c.name),
          cross_source: crossSource,
          hosts,
          ...(dirs ? { dirs } : {}),
          replaced,
        },
      });
      process.stderr.write(
        `${replaced ? 'replaced' : 'installed'} ${manifest.source} in ${store.dir} (audit: ${audited === 'written' ? 'recorded' : 'recorded by the running hub'})\n` +
          `it grants nothing: give a token access with e.g. hub token create <name> --grant '${manifest.source}.*:${[...new Set(Object.values(verdict.surface.verbs).flat())].join(',')}'\n`,
      );
    });

  ext
    .command('list')
    .description('list installed extensions with their health')
    .option('--json', 'print them as JSON')
    .addOption(dataDirOption())
    .action(async (opts) => {
      const dataDir = resolveDataDir(opts.dataDir);
      const store = new ExtensionStore(dataDir);
      const secrets = new SecretStore(dataDir);
      const { installed, broken } = store.list();
      const rows = await Promise.all(
        installed.map(async (r) => {
          // Health only: nothing is served, so nothing is called or asked.
          const notServing = (): never => {
            throw new Error('not serving');
          };
          const built = buildExtension(r.manifest, {
            options: { secrets },
            approved: r.approved,
            call: notServing,
            paramsOf: async () => undefined,
            respond: notServing,
            rejectRequest: notServing,
          });
          return {
            source: r.manifest.source,
            label: r.manifest.label,
            capabilities: r.manifest.capabilities.map((c) => c.name),
            installedAt: r.installedAt,
            health: await built.checkHealth(),
          };
        }),
      );
      if (opts.json) return void process.stdout.write(`${JSON.stringify({ installed: rows, broken }, null, 2)}\n`);
      if (rows.length === 0 && broken.length === 0) return void process.stdout.write(`no extensions in ${store.dir}\n`);
      for (const r of rows) {
        process.stdout.write(
          `${r.source}  ${r.health.status}  ${r.capabilities.length} capabilities  installed ${r.installedAt}  ${r.health.detail}\n`,
        );
      }
      for (const b of broken) process.stdout.write(`${b.source}  broken  ${b.error}\n`);
    });

  ext
    .command('remove')
    .description('uninstall an extension; a running hub drops it from its tree')
    .argument('<source>')
    .addOption(dataDirOption())
    .action((source: string, opts) => {
      const store = new ExtensionStore(resolveDataDir(opts.dataDir));
      if (!store.remove(source)) throw new Error(`no extension "${source}" is installed (hub extension list shows them)`);
      const audited = store.audit({ event: 'source.remove', principal: owner(), path: source, outcome: 'ok' });
      process.stderr.write(`removed ${source} (audit: ${audited === 'written' ? 'recorded' : 'recorded by the running hub'})\n`);
    });
}
