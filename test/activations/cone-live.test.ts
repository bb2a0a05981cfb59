// The real providers, only when a key is in the environment (never in CI here: no
// network, no keys). Each skip says why. Models can be chosen with
// CONE_LIVE_ANTHROPIC_MODEL / CONE_LIVE_OPENAI_MODEL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamicHub } from '../../src/index.js';
import { Arbor } from '../../activations/arbor/index.js';
import { Cone, LlmRegistry, type ChatEvent } from '../../activations/cone/index.js';
import { collect, contents, errorOf } from '../support/helpers.js';

const LIVE = [
  { service: 'anthropic', keyEnv: 'ANTHROPIC_API_KEY', model: process.env.CONE_LIVE_ANTHROPIC_MODEL ?? 'claude-3-5-haiku-latest' },
  { service: 'openai', keyEnv: 'OPENAI_API_KEY', model: process.env.CONE_LIVE_OPENAI_MODEL ?? 'gpt-4o-mini' },
] as const;

for (const live of LIVE) {
  const reason = process.env[live.keyEnv] ? undefined : `${live.keyEnv} is not set: the real ${live.service} API is not called`;
  if (reason) console.log(`skip cone live ${live.service}: ${reason}`);
  test(`cone.chat against the real ${live.service} API (${live.model})`, { skip: reason ?? false }, async () => {
    const arbor = new Arbor({ database: ':memory:', sweepIntervalMs: 0 });
    const cone = new Cone({ arbor, llm: new LlmRegistry() });
    const hub = new DynamicHub('plexus').register(arbor, cone);
    try {
      await collect(hub.call('cone.create', { name: 'live', model_id: live.model, system_prompt: 'Answer in at most five words.' }));
      const items = await collect(hub.call('cone.chat', { identifier: { type: 'by_name', name: 'live' }, prompt: 'Say hello.' }));
      assert.equal(errorOf(items), undefined, JSON.stringify(errorOf(items)));
      const events = contents(items) as ChatEvent[];
      assert.equal(events[0]!.type, 'chat_start');
      assert.ok(events.some((e) => e.type === 'chat_content' && e.content.length > 0));
      assert.equal(events.at(-1)!.type, 'chat_complete');
      assert.doesNotMatch(JSON.stringify(items), new RegExp(process.env[live.keyEnv]!.slice(-8)));
    } finally {
      cone.close();
      arbor.close();
    }
  });
}
