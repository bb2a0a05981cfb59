/**
 * The manifest model: the published JSON Schema is the one made from the TypeScript
 * types, and validation (schema + semantic rules) gives reasons a person can act on
 * (where in the manifest, what to do) and the approval surface.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as TJS from 'typescript-json-schema';
import { extensionSchemaFile, validateManifest } from '../../activations/extension/validate.js';
import { REPO_ROOT } from '../support/repo.js';

/** The schema as made from `ExtensionManifest` (activations/extension/manifest.ts). */
function madeSchema(): string {
  const program = TJS.getProgramFromFiles([join(REPO_ROOT, 'activations/extension/manifest.ts')], {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const generator = TJS.buildGenerator(program, {
    required: true,
    noExtraProps: true,
    strictNullChecks: true,
    ignoreErrors: true,
    ref: true,
  });
  assert.ok(generator, 'typescript-json-schema builds a generator');
  const schema = generator.getSchemaForSymbol('ExtensionManifest');
  const { $schema: _drop, ...body } = schema as Record<string, unknown>;
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'plexus-hub extension manifest (plexus-extension/0.1)', ...body }, null, 2)}\n`;
}

const base = () => ({
  manifest: 'plexus-extension/0.1',
  source: 'notes',
  capabilities: [
    { name: 'guide', kind: 'skill', describe: 'How to use notes', body: '# Notes\nUse notes.list first.' },
    { name: 'digest', kind: 'workflow', describe: 'The guide, twice', members: ['notes.guide', 'notes.guide'] },
  ],
});

describe('the extension manifest schema', () => {
  it('schema/extension.schema.json is the one made from the TS types (UPDATE_GOLDEN=1 writes it)', () => {
    const made = madeSchema();
    if (process.env.UPDATE_GOLDEN) writeFileSync(extensionSchemaFile(), made);
    assert.equal(
      readFileSync(extensionSchemaFile(), 'utf8'),
      made,
      'schema/extension.schema.json is stale: run this test with UPDATE_GOLDEN=1',
    );
  });
});

describe('validateManifest', () => {
  it('a good manifest is valid, with its approval surface', () => {
    const v = validateManifest(base());
    assert.deepEqual(v.reasons, []);
    assert.equal(v.valid, true);
    assert.deepEqual(v.surface, { bins: [], hosts: [], crossSource: [], verbs: { 'notes.guide': ['read'], 'notes.digest': ['read'] } });
  });

  it('schema errors name the place and what to do', () => {
    const m: Record<string, unknown> = { ...base(), source: 'My-Notes', extra: 1 };
    (m.capabilities as Record<string, unknown>[])[0]!.name = 'Guide';
    delete (m.capabilities as Record<string, unknown>[])[1]!.describe;
    const v = validateManifest(m);
    assert.equal(v.valid, false);
    assert.ok(
      v.reasons.some((r) => r.startsWith('source: use lower case letters')),
      v.reasons.join('\n'),
    );
    assert.ok(
      v.reasons.some((r) => r.startsWith('capabilities[0].name: write <noun>.<verb>')),
      v.reasons.join('\n'),
    );
    assert.ok(v.reasons.includes('capabilities[1]: missing "describe"; add it'), v.reasons.join('\n'));
    assert.ok(v.reasons.includes('(the manifest): unknown field "extra"; remove it or check its spelling'), v.reasons.join('\n'));
  });

  it('an unknown format says which one to write', () => {
    const v = validateManifest({ ...base(), manifest: 'plexus-extension/9' });
    assert.deepEqual(v.reasons, ['manifest: "plexus-extension/9" is not a format this hub reads; write "plexus-extension/0.1"']);
  });

  it('semantic rules: duplicates, a method that is also a group, members that do not resolve, undeclared secrets', () => {
    const m = base();
    m.capabilities.push(
      { name: 'guide', kind: 'skill', describe: 'again', body: 'x' },
      { name: 'guide.more', kind: 'skill', describe: 'nested', body: 'x' },
      { name: 'broken', kind: 'workflow', describe: 'no such member', members: ['notes.nothing', 'other.tool', 'notes.broken'] },
      { name: 'schema', kind: 'skill', describe: 'reserved', body: 'x' },
      { name: 'empty', kind: 'skill', describe: 'no body' } as never,
    );
    const v = validateManifest(m, { known: new Set(['solar.info']) });
    const want = [
      'capabilities[2] (guide): the name "guide" is also capabilities[0]; names must be unique in a source',
      'capabilities[0] (guide): "guide.more" makes guide a group of capabilities; rename one of them',
      'capabilities[4] (broken).members[0]: "notes.nothing" does not resolve: notes has no capability "nothing"',
      'capabilities[4] (broken).members[1]: "other.tool" does not resolve to a capability of another installed source; install it first or fix the id',
      'capabilities[4] (broken).members[2]: a workflow cannot run itself',
      'capabilities[5] (schema): "schema" is every activation\'s built-in method; name the capability otherwise',
      'capabilities[6] (empty): body: a skill needs its markdown guidance in "body" (a non-empty string)',
    ];
    for (const r of want) assert.ok(v.reasons.includes(r), `missing reason: ${r}\n got:\n${v.reasons.join('\n')}`);
    assert.deepEqual(v.surface.crossSource, ['other.tool']);
  });

  it('a name repeating its source is a warning, not an error', () => {
    const m = base();
    m.capabilities[0]!.name = 'notes.guide';
    m.capabilities[1]!.members = ['notes.notes.guide'];
    const v = validateManifest(m);
    assert.equal(v.valid, true, v.reasons.join('\n'));
    assert.deepEqual(v.warnings, [
      'capabilities[0] (notes.guide): the name repeats the source, so its id is notes.notes.guide; drop the leading "notes." unless you mean it',
    ]);
  });

  it('a route naming a secret that is not declared, and a transport this hub lacks', () => {
    const m = {
      ...base(),
      capabilities: [
        { name: 'list', describe: 'x', transport: 'nope', route: {} },
        {
          name: 'x',
          kind: 'workflow',
          describe: 'x',
          members: ['notes.list'],
          route: { members: ['notes.list'], secret: { name: 'TOKEN' } },
        },
      ],
    };
    const v = validateManifest(m);
    assert.ok(
      v.reasons.includes('capabilities[0].transport: must be one of "cli", "local-rest", "skill", "workflow"'),
      v.reasons.join('\n'),
    );
    const m2 = {
      ...base(),
      capabilities: [
        ...base().capabilities,
        { name: 'y', kind: 'workflow', describe: 'x', route: { members: ['notes.guide'], secret: { name: 'TOKEN' } } },
      ],
    };
    const v2 = validateManifest(m2);
    assert.ok(
      v2.reasons.includes('capabilities[2] (y).route.secret: "TOKEN" is not declared; add {"name": "TOKEN"} to "secrets"'),
      v2.reasons.join('\n'),
    );
  });

  it('the example manifest (examples/extensions/notes.json) is valid', () => {
    const example = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/extensions/notes.json'), 'utf8'));
    const v = validateManifest(example);
    assert.deepEqual(v.reasons, []);
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(v.surface.verbs['notes.files.grep'], ['execute']);
  });

  it('io.input must be an object schema', () => {
    const m = base();
    (m.capabilities[0] as Record<string, unknown>).io = { input: { type: 'string' } };
    const v = validateManifest(m);
    assert.ok(
      v.reasons.includes('capabilities[0] (guide).io.input: params are an object; give a schema with "type": "object"'),
      v.reasons.join('\n'),
    );
  });
});
