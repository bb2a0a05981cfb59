import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../activations/process/index.js';
import { buildArgs, TurnParser } from '../../activations/claudecode/index.js';

describe('LineSplitter', () => {
  it('keeps a multi-byte character split across chunks whole, strips CR, flushes the partial line', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€'); // 3 bytes
    assert.deepEqual(s.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)])), ['a']);
    assert.deepEqual(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nrest')])), ['b€']);
    assert.equal(s.flush(), 'rest');
    assert.equal(s.flush(), undefined);
  });
});

describe('claudecode argv', () => {
  it('follows the reference order, fork only with resume, the prompt after --', () => {
    assert.deepEqual(buildArgs({ model: 'opus', prompt: '-rf', forkSession: true }), [
      '--output-format',
      'stream-json',
      '--include-partial-messages',
      '--verbose',
      '--print',
      '--model',
      'opus',
      '--',
      '-rf',
    ]);
    assert.deepEqual(
      buildArgs({
        model: 'haiku',
        prompt: 'p',
        resume: 's',
        forkSession: true,
        maxTurns: 3,
        systemPrompt: 'sys',
        permissionPromptTool: 't',
        allowedTools: ['A', 'B'],
        mcpConfigFile: '/m.json',
      }).slice(5),
      [
        '--resume',
        's',
        '--fork-session',
        '--model',
        'haiku',
        '--max-turns',
        '3',
        '--system-prompt',
        'sys',
        '--permission-prompt-tool',
        't',
        '--allowedTools',
        'A,B',
        '--mcp-config',
        '/m.json',
        '--',
        'p',
      ],
    );
  });
});

describe('TurnParser', () => {
  const line = (o: unknown) => JSON.stringify(o);

  it('reads cost from cost_usd when total_cost_usd is absent; nulls when neither', () => {
    const p = new TurnParser();
    p.push(line({ type: 'result', session_id: 's1', cost_usd: 0.5, num_turns: 2 }));
    assert.deepEqual(p.result?.usage, { input_tokens: null, output_tokens: null, cost_usd: 0.5, num_turns: 2 });
    assert.equal(p.sessionId, 's1');
    const q = new TurnParser();
    q.push(line({ type: 'result', total_cost_usd: 'oops' }));
    assert.equal(q.result?.usage.cost_usd, null);
  });

  it('a tool input cut off mid-JSON is {} and the call is still reported once', () => {
    const p = new TurnParser();
    p.push(
      line({
        type: 'stream_event',
        event: { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'Read', input: {} } },
      }),
    );
    p.push(
      line({
        type: 'stream_event',
        event: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"pa' } },
      }),
    );
    const [use] = p.push(line({ type: 'stream_event', event: { type: 'content_block_stop', index: 1 } }));
    assert.deepEqual(use, {
      kind: 'event',
      event: { type: 'tool_use', tool_name: 'Read', tool_use_id: 't', input: {} },
      node: { type: 'content_tool_use', id: 't', name: 'Read', input: {} },
    });
    assert.deepEqual(
      p.push(line({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't', name: 'Read', input: { path: 'x' } }] } })),
      [],
    );
  });

  it('assistant text is used when nothing was streamed, and only then', () => {
    const p = new TurnParser();
    assert.equal(p.push(line({ type: 'assistant', message: { content: [{ type: 'text', text: 'whole' }] } })).length, 1);
    p.push(line({ type: 'stream_event', event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'de' } } }));
    assert.equal(p.push(line({ type: 'assistant', message: { content: [{ type: 'text', text: 'de' }] } })).length, 0);
    assert.equal(p.text, 'wholede');
  });
});
