// A chat through a generated TypeScript client, printing tokens as they stream.
//
//   npx hub serve --with cone                                   # ANTHROPIC_API_KEY / OPENAI_API_KEY set
//   npx hub codegen --url ws://127.0.0.1:4444 --out examples/cone-client/client
//   npx tsx examples/cone-client/chat.ts demo "What is a cone?" [model_id]
//
// `client/` is generated (and git-ignored); test/codegen/cone-codegen.test.ts generates it,
// type-checks this file against it and runs it.
import { createClient, PlexusError } from './client/index.js';

const [name = 'demo', prompt = 'Hello!', model_id = 'claude-3-5-haiku-latest'] = process.argv.slice(2);
const hub = createClient({ url: process.env.HUB_URL ?? 'ws://127.0.0.1:4444' });

try {
  // The cone is made on first use; a cone that exists is reused.
  const { cones } = await hub.cone.list();
  if (!cones.some((c) => c.name === name)) await hub.cone.create({ name, model_id, system_prompt: 'Be brief.' });

  for await (const event of hub.cone.chat({ identifier: { type: 'by_name', name }, prompt })) {
    switch (event.type) {
      case 'chat_content':
        process.stdout.write(event.content);
        break;
      case 'chat_complete':
        process.stdout.write(`\n[head ${event.new_head.node_id}, ${event.usage?.output_tokens ?? '?'} tokens out]\n`);
        break;
      case 'error':
        process.stderr.write(`\n${event.code}: ${event.message}\n`);
        break;
    }
  }
} catch (err) {
  // The error item after an in-band error event (or any call failure) ends up here.
  if (!(err instanceof PlexusError)) throw err;
  process.exitCode = 1;
} finally {
  hub.$close();
}
