import type { Command } from 'commander';
import { resolveDataDir } from '../../src/auth/index.js';
import { JoinBindings } from '../../src/index.js';
import { dataDirOption } from '../options.js';

/**
 * `hub join list|release`: the names hubs joined this one under (`hub serve --allow-join`)
 * and the credential each is bound to. Like `hub token`, it works on the data dir
 * directly; a running hub sees a release at the next join.
 */
export function addJoinCommand(program: Command): void {
  const join = program.command('join').description('manage the names joined hubs are bound to (hub serve --allow-join)');

  join
    .command('list')
    .description('list joined names and the credential that owns each')
    .addOption(dataDirOption())
    .action((opts) => {
      const bindings = JoinBindings.in(resolveDataDir(opts.dataDir));
      const all = bindings.list();
      if (all.length === 0) return void process.stdout.write(`no joined names in ${bindings.file}\n`);
      for (const b of all) process.stdout.write(`${b.name}  ${b.credential}  ${b.label}  bound ${b.boundAt}\n`);
    });

  join
    .command('release')
    .description('free a joined name: the next credential allowed to join under it owns it')
    .argument('<name>')
    .addOption(dataDirOption())
    .action((name: string, opts) => {
      const released = JoinBindings.in(resolveDataDir(opts.dataDir)).release(name);
      if (!released) throw new Error(`"${name}" is not bound to any credential`);
      process.stdout.write(`released ${name} (was bound to ${released.credential}, ${released.label})\n`);
    });
}
