// The provider adapters (Anthropic Messages, OpenAI Chat Completions, Gemini) against the
// fake provider over real HTTP on loopback: streaming, every failure, cancellation; then
// the OpenAI-compatible services (DeepSeek, OpenRouter, Azure OpenAI, Avian) at their URLs.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { LlmError, LlmErrorCode } from '../../activations/cone/llm/errors.js';
import { LlmRegistry } from '../../activations/cone/llm/registry.js';
import type { LlmEvent, LlmRequest } from '../../activations/cone/llm/types.js';
import { FakeLlmServer, settledWithin, type FakeFormat } from '../support/fake-llm-server.js';

const KEY = 'sk-test-0123456789abcdef0123';

const MODEL: Record<FakeFormat, string> = { anthropic: 'claude-3-haiku-20240307', openai: 'gpt-4o-mini', gemini: 'gemini-2.0-flash' };
const KEY_ENV: Record<FakeFormat, string> = { anthropic: 'ANTHROPIC_API_KEY', openai: 'OPENAI_API_KEY', gemini: 'GOOGLE_API_KEY' };

function registryFor(
  fake: FakeLlmServer,
  extra: { request_timeout_ms?: number; idle_timeout_ms?: number } = {},
  key: string | undefined = KEY,
) {
  return new LlmRegistry({
    env: {
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      GEMINI_BASE_URL: fake.geminiBaseUrl,
      ...(key ? { ANTHROPIC_API_KEY: key, OPENAI_API_KEY: key, GOOGLE_API_KEY: key } : {}),
    },
    config: extra,
  });
}

function providerFor(registry: LlmRegistry, format: FakeFormat) {
  const resolved = registry.resolve(MODEL[format]);
  return { provider: registry.provider(resolved.service), model: resolved.model };
}

const request = (model: string, over: Partial<LlmRequest> = {}): LlmRequest => ({
  model,
  system: 'Be brief.',
  messages: [
    { role: 'user', content: 'first' },
    { role: 'assistant', content: 'answer one' },
    { role: 'user', content: 'hello there' },
  ],
  ...over,
});

async function drain(stream: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

async function failure(stream: AsyncIterable<LlmEvent>): Promise<{ error: LlmError; events: LlmEvent[] }> {
  const events: LlmEvent[] = [];
  try {
    for await (const e of stream) events.push(e);
  } catch (err) {
    assert.ok(err instanceof LlmError, `expected an LlmError, got ${inspect(err)}`);
    return { error: err, events };
  }
  assert.fail(`expected a failure, got ${JSON.stringify(events)}`);
}

const text = (events: LlmEvent[]) => events.map((e) => (e.type === 'content' ? e.text : '')).join('');

for (const format of ['anthropic', 'openai', 'gemini'] as const) {
  describe(`${format} provider`, () => {
    let fake: FakeLlmServer;
    before(async () => {
      fake = await FakeLlmServer.start({ apiKey: KEY });
    });
    after(() => fake.close());

    test('streams the chunks in order and finishes with usage', async () => {
      fake.enqueue({ chunks: ['Hel', 'lo', ', world'], usage: { input: 12, output: 5 } });
      const { provider, model } = providerFor(registryFor(fake), format);
      const events = await drain(provider.stream(request(model)));
      assert.deepEqual(events.slice(0, 3), [
        { type: 'content', text: 'Hel' },
        { type: 'content', text: 'lo' },
        { type: 'content', text: ', world' },
      ]);
      const finish = events.at(-1)!;
      assert.equal(finish.type, 'finish');
      assert.deepEqual(finish.type === 'finish' && finish.usage, { inputTokens: 12, outputTokens: 5 });
      assert.equal(events.length, 4);
      const sent = fake.last!;
      assert.equal(sent.clientClosed, false);
      if (format === 'gemini') {
        // Google's own wire format: the model in the path, user/model turns, the system prompt apart.
        assert.equal(sent.path, `/v1beta/models/${model}:streamGenerateContent`);
        assert.deepEqual(sent.query, { alt: 'sse' });
        assert.equal(sent.headers['x-goog-api-key'], KEY);
        assert.deepEqual(sent.body, {
          contents: [
            { role: 'user', parts: [{ text: 'first' }] },
            { role: 'model', parts: [{ text: 'answer one' }] },
            { role: 'user', parts: [{ text: 'hello there' }] },
          ],
          systemInstruction: { parts: [{ text: 'Be brief.' }] },
        });
        return;
      }
      assert.equal(sent.body.model, model);
      assert.equal(sent.body.stream, true);
      if (format === 'anthropic') {
        assert.equal(sent.headers['x-api-key'], KEY);
        assert.equal(sent.headers['anthropic-version'], '2023-06-01');
        assert.equal(sent.body.system, 'Be brief.');
        assert.equal(sent.body.max_tokens, 4096);
        assert.deepEqual(sent.body.messages, request(model).messages);
      } else {
        assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
        assert.deepEqual(sent.body.messages, [{ role: 'system', content: 'Be brief.' }, ...request(model).messages]);
        assert.deepEqual(sent.body.stream_options, { include_usage: true });
      }
    });

    test("sends the reference's defaults (temperature 1, 4096 tokens) in the format's own fields unless configured", async () => {
      const fields = (body: Record<string, unknown>) =>
        format === 'gemini' ? body.generationConfig : { temperature: body.temperature, max_tokens: body.max_tokens };
      const expected = (temperature: number, tokens: number) =>
        format === 'gemini' ? { temperature, maxOutputTokens: tokens } : { temperature, max_tokens: tokens };
      for (const [config, temperature, tokens] of [
        [{}, 1, 4096],
        [{ defaults: { temperature: 0.2, max_tokens: 512 } }, 0.2, 512],
        [
          {
            models: {
              [MODEL[format]]: {
                service: { anthropic: 'anthropic', openai: 'openai', gemini: 'google' }[format],
                temperature: 0,
                max_tokens: 64,
              },
            },
          },
          0,
          64,
        ],
      ] as const) {
        const registry = new LlmRegistry({
          env: { ANTHROPIC_BASE_URL: fake.url, OPENAI_BASE_URL: fake.openaiBaseUrl, GEMINI_BASE_URL: fake.url, [KEY_ENV[format]]: KEY },
          config,
        });
        const resolved = registry.resolve(MODEL[format]);
        await drain(registry.provider(resolved.service).stream(request(resolved.model, registry.limits(resolved))));
        assert.deepEqual(fields(fake.last!.body), expected(temperature, tokens), JSON.stringify(config));
      }
    });

    test('yields each chunk as it arrives, before the answer is complete', async () => {
      fake.enqueue({ chunks: ['one ', 'two ', 'three'], then: 'hang', after: 2 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const seen: string[] = [];
      const controller = new AbortController();
      const stream = provider.stream(request(model), controller.signal);
      for await (const e of stream) {
        if (e.type === 'content') seen.push(e.text);
        if (seen.length === 2) break; // the server is still holding the third chunk back
      }
      assert.deepEqual(seen, ['one ', 'two ']);
      const sent = fake.last!;
      assert.ok(await settledWithin(sent), 'the HTTP request is still open');
      assert.equal(sent.clientClosed, true, 'stopping early closes the HTTP request');
    });

    test('an abort of the signal closes the HTTP request mid-answer', async () => {
      fake.enqueue({ chunks: ['a', 'b', 'c'], then: 'hang', after: 1 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const controller = new AbortController();
      const stream = provider.stream(request(model), controller.signal);
      const first = await stream.next();
      assert.deepEqual(first.value, { type: 'content', text: 'a' });
      const pending = stream.next();
      controller.abort();
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      const sent = fake.last!;
      assert.ok(await settledWithin(sent), 'the HTTP request is still open');
      assert.equal(sent.clientClosed, true);
      assert.equal(sent.chunksSent, 1);
    });

    test('a refused key is cone.provider_auth and the key never shows', async () => {
      const { provider, model } = providerFor(registryFor(fake, {}, 'sk-wrong-key-9876543210zz'), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Auth);
      assert.equal(error.status, 401);
      // OpenAI's 401 is type invalid_request_error, code invalid_api_key: the status decides.
      assert.match(
        error.message,
        {
          anthropic: /HTTP 401 \(authentication_error\): Incorrect API key provided: \[redacted\]/,
          openai: /HTTP 401 \(invalid_api_key\): Incorrect API key provided: \[redacted\]/,
          gemini: /HTTP 401 \(UNAUTHENTICATED\): Incorrect API key provided: \[redacted\]/,
        }[format],
      );
      assert.doesNotMatch(error.message, /sk-wrong|9876|3210zz/);
      assert.doesNotMatch(inspect(error) + JSON.stringify(error), /sk-wrong|3210zz/);
    });

    test('429 with retry-after in seconds is cone.provider_rate_limited with the wait', async () => {
      fake.enqueue({ status: 429, headers: { 'retry-after': '7' }, errorMessage: 'slow down' });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.RateLimited);
      assert.equal(error.retryAfterMs, 7000);
      assert.equal(error.status, 429);
      assert.match(error.message, /HTTP 429 .*slow down; retry after 7 s/);
    });

    test('429 with retry-after as an HTTP date', async () => {
      const at = new Date(Date.now() + 30_000).toUTCString();
      fake.enqueue({ status: 429, headers: { 'retry-after': at } });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.RateLimited);
      assert.ok(error.retryAfterMs! > 25_000 && error.retryAfterMs! <= 30_000, String(error.retryAfterMs));
    });

    for (const [status, code] of [
      [400, LlmErrorCode.BadRequest],
      [403, LlmErrorCode.Auth],
      [404, LlmErrorCode.BadRequest],
      [413, LlmErrorCode.BadRequest],
      [500, LlmErrorCode.Unavailable],
      [529, LlmErrorCode.Unavailable],
      [503, LlmErrorCode.Unavailable],
    ] as const) {
      test(`HTTP ${status} is ${code}, with the provider's message`, async () => {
        fake.enqueue({ status, errorMessage: `reason ${status}` });
        const { provider, model } = providerFor(registryFor(fake), format);
        const { error, events } = await failure(provider.stream(request(model)));
        assert.equal(error.code, code);
        assert.equal(error.phase, 'start');
        assert.match(error.message, new RegExp(`HTTP ${status}( \\(\\w+\\))?: reason ${status}`));
        assert.deepEqual(events, []);
      });
    }

    test('a plain-text error body is quoted', async () => {
      fake.enqueue({ status: 502, rawBody: '<html>Bad Gateway</html>' });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Unavailable);
      assert.match(error.message, /HTTP 502: <html>Bad Gateway<\/html>/);
    });

    test('a line that is not SSE is cone.provider_malformed, after the chunks before it', async () => {
      fake.enqueue({ chunks: ['ok ', 'then'], then: 'bad_line', after: 1 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error, events } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Malformed);
      assert.match(error.message, /not server-sent events: this line is not server-sent events/);
      assert.equal(text(events), 'ok ');
      assert.ok(await settledWithin(fake.last!), 'the HTTP request is still open');
      assert.equal(fake.last!.clientClosed, true, 'the client hangs up on a broken stream');
    });

    test('event data that is not JSON is cone.provider_malformed', async () => {
      fake.enqueue({ chunks: ['x'], then: 'bad_json', after: 1 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Malformed);
      assert.match(error.message, /data is not JSON/);
    });

    test('a 200 that is not an event stream is cone.provider_malformed', async () => {
      fake.enqueue({ contentType: 'application/json' });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Malformed);
      assert.match(error.message, /application\/json instead of an event stream/);
    });

    test('a connection cut mid-answer is cone.provider_stream_cut', async () => {
      fake.enqueue({ chunks: ['part ', 'of ', 'it'], then: 'cut', after: 2 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error, events } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.StreamCut);
      assert.equal(error.phase, 'stream');
      assert.equal(text(events), 'part of ');
    });

    test('a body that ends without the end-of-answer marker is cone.provider_stream_cut', async () => {
      fake.enqueue({ chunks: ['part ', 'of ', 'it'], then: 'end_early', after: 2 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error, events } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.StreamCut);
      assert.match(error.message, /ended the stream before/);
      assert.equal(text(events), 'part of ');
    });

    test("the provider's in-stream error event keeps its type", async () => {
      fake.enqueue({ chunks: ['so ', 'far'], then: 'error_event', after: 1 });
      const { provider, model } = providerFor(registryFor(fake), format);
      const { error, events } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Unavailable);
      assert.equal(error.providerType, { anthropic: 'overloaded_error', openai: 'server_error', gemini: 'UNAVAILABLE' }[format]);
      assert.match(error.message, /mid-stream/);
      assert.equal(text(events), 'so ');
    });

    test('no response headers within the request timeout is cone.provider_timeout', async () => {
      fake.enqueue({ hangBeforeHeaders: true });
      const { provider, model } = providerFor(registryFor(fake, { request_timeout_ms: 150 }), format);
      const { error } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Timeout);
      assert.match(error.message, /no response within 150 ms/);
      assert.ok(await settledWithin(fake.last!), 'the HTTP request is still open');
      assert.equal(fake.last!.clientClosed, true);
    });

    test('silence mid-answer beyond the idle timeout is cone.provider_timeout', async () => {
      fake.enqueue({ chunks: ['a', 'b'], then: 'hang', after: 1 });
      const { provider, model } = providerFor(registryFor(fake, { idle_timeout_ms: 150 }), format);
      const { error, events } = await failure(provider.stream(request(model)));
      assert.equal(error.code, LlmErrorCode.Timeout);
      assert.equal(error.phase, 'stream');
      assert.equal(text(events), 'a');
      assert.ok(await settledWithin(fake.last!), 'the HTTP request is still open');
      assert.equal(fake.last!.clientClosed, true);
    });

    test('no key for the public endpoint is cone.provider_not_configured, before any request', async () => {
      const registry = new LlmRegistry({ env: {} });
      const resolved = registry.resolve(MODEL[format]);
      const before = fake.requests.length;
      const { error } = await failure(registry.provider(resolved.service).stream(request(resolved.model)));
      assert.equal(error.code, LlmErrorCode.NotConfigured);
      assert.match(error.message, new RegExp(`set ${KEY_ENV[format]}`));
      assert.equal(fake.requests.length, before);
    });
  });
}

/** The OpenAI-compatible services: each at its own URL, with its own key header and env vars. */
const COMPATIBLE = [
  {
    service: 'deepseek',
    model: 'deepseek-chat',
    env: (fake: FakeLlmServer) => ({ DEEPSEEK_BASE_URL: fake.openaiBaseUrl }),
    keyEnv: 'DEEPSEEK_API_KEY',
    path: '/v1/chat/completions',
    query: {},
  },
  {
    service: 'openrouter',
    model: 'meta-llama/llama-3.1-8b-instruct',
    env: (fake: FakeLlmServer) => ({ OPENROUTER_BASE_URL: fake.openaiBaseUrl }),
    keyEnv: 'OPEN_ROUTER_API_KEY',
    path: '/v1/chat/completions',
    query: {},
  },
  {
    service: 'azure',
    model: 'azure:gpt-4o-mini-prod',
    env: (fake: FakeLlmServer) => ({ AZURE_OPENAI_ENDPOINT: fake.azureEndpoint }),
    keyEnv: 'AZURE_OPENAI_API_KEY',
    path: '/openai/deployments/gpt-4o-mini-prod/chat/completions',
    query: { 'api-version': '2024-02-15-preview' },
  },
  {
    service: 'avian',
    model: 'avian:Meta-Llama-3.1-405B-Instruct',
    env: (fake: FakeLlmServer) => ({ AVIAN_BASE_URL: fake.openaiBaseUrl }),
    keyEnv: 'AVIAN_API_KEY',
    path: '/v1/chat/completions',
    query: {},
  },
] as const;

for (const c of COMPATIBLE) {
  describe(`${c.service} (OpenAI-compatible)`, () => {
    let fake: FakeLlmServer;
    before(async () => {
      fake = await FakeLlmServer.start({ apiKey: KEY });
    });
    after(() => fake.close());
    const resolve = (key: string | undefined = KEY) => {
      const registry = new LlmRegistry({ env: { ...c.env(fake), ...(key ? { [c.keyEnv]: key } : {}) } });
      const resolved = registry.resolve(c.model);
      return { registry, resolved, provider: registry.provider(resolved.service) };
    };

    test('streams an answer from its URL with its key header, model and limits', async () => {
      fake.enqueue({ chunks: ['Hi', ' there'], usage: { input: 9, output: 2 } });
      const { registry, resolved, provider } = resolve();
      assert.equal(resolved.service.name, c.service);
      const events = await drain(provider.stream(request(resolved.model, registry.limits(resolved))));
      assert.equal(text(events), 'Hi there');
      const sent = fake.last!;
      assert.equal(sent.path, c.path);
      assert.deepEqual(sent.query, c.query);
      if (c.service === 'azure') {
        assert.equal(sent.headers['api-key'], KEY);
        assert.equal(sent.headers.authorization, undefined);
        // The reference's api-version predates stream_options: usage is not asked for.
        assert.equal(sent.body.stream_options, undefined);
      } else {
        assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
        assert.deepEqual(sent.body.stream_options, { include_usage: true });
        assert.deepEqual(events.at(-1), { type: 'finish', stopReason: 'stop', usage: { inputTokens: 9, outputTokens: 2 } });
      }
      assert.equal(sent.body.model, c.model.replace(/^(azure|avian):/, ''));
      assert.deepEqual([sent.body.temperature, sent.body.max_tokens, sent.body.stream], [1, 4096, true]);
    });

    test('an HTTP error status keeps its code and message', async () => {
      fake.enqueue({ status: 429, headers: { 'retry-after': '3' }, errorMessage: 'too many' });
      const { resolved, provider } = resolve();
      const { error } = await failure(provider.stream(request(resolved.model)));
      assert.equal(error.code, LlmErrorCode.RateLimited);
      assert.equal(error.retryAfterMs, 3000);
      assert.match(error.message, new RegExp(`^${c.service} answered HTTP 429 \\(rate_limit_exceeded\\): too many`));
    });

    test('a cancel mid-answer closes the HTTP request', async () => {
      fake.enqueue({ chunks: ['a', 'b', 'c'], then: 'hang', after: 1 });
      const { resolved, provider } = resolve();
      const controller = new AbortController();
      const stream = provider.stream(request(resolved.model), controller.signal);
      assert.deepEqual((await stream.next()).value, { type: 'content', text: 'a' });
      const pending = stream.next();
      controller.abort();
      await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
      assert.ok(await settledWithin(fake.last!), 'the HTTP request is still open');
      assert.equal(fake.last!.clientClosed, true);
    });

    test('without its key (at the public URL) it is cone.provider_not_configured, naming the env var', async () => {
      const registry = new LlmRegistry({ env: {} });
      const resolved = registry.resolve(c.model);
      const before = fake.requests.length;
      const { error } = await failure(registry.provider(resolved.service).stream(request(resolved.model)));
      assert.equal(error.code, LlmErrorCode.NotConfigured);
      // Azure has no public URL: its endpoint is what is missing first.
      assert.match(
        error.message,
        c.service === 'azure' ? /no endpoint for azure: set AZURE_OPENAI_ENDPOINT/ : new RegExp(`set ${c.keyEnv}`),
      );
      assert.equal(fake.requests.length, before);
    });
  });
}

test('Azure needs its key even at a configured endpoint, and takes api_version from the config', async () => {
  const fake = await FakeLlmServer.start({ apiKey: KEY });
  try {
    const bare = new LlmRegistry({ env: { AZURE_OPENAI_ENDPOINT: fake.azureEndpoint } });
    const resolved = bare.resolve('azure:dep');
    const { error } = await failure(bare.provider(resolved.service).stream(request(resolved.model)));
    assert.equal(error.code, LlmErrorCode.NotConfigured);
    assert.match(error.message, /set AZURE_OPENAI_API_KEY/);
    const r = new LlmRegistry({
      env: { AZURE_OPENAI_ENDPOINT: fake.azureEndpoint, AZURE_OPENAI_API_KEY: KEY },
      config: { services: { azure: { api_version: '2024-10-21', include_usage: true } } },
    });
    const m = r.resolve('azure:dep');
    await drain(r.provider(m.service).stream(request(m.model)));
    assert.deepEqual(fake.last!.query, { 'api-version': '2024-10-21' });
    assert.deepEqual(fake.last!.body.stream_options, { include_usage: true });
  } finally {
    await fake.close();
  }
});

test("OpenAI's reasoning models get max_completion_tokens; compatible servers keep max_tokens", async () => {
  const fake = await FakeLlmServer.start();
  try {
    const r = new LlmRegistry({ env: { OPENAI_BASE_URL: fake.openaiBaseUrl, DEEPSEEK_BASE_URL: fake.openaiBaseUrl } });
    for (const [id, field] of [
      ['o3-mini', 'max_completion_tokens'],
      ['gpt-4o-mini', 'max_tokens'],
      ['deepseek-reasoner', 'max_tokens'],
    ] as const) {
      const m = r.resolve(id);
      await drain(r.provider(m.service).stream(request(m.model, r.limits(m))));
      assert.equal(fake.last!.body[field], 4096, id);
      assert.equal(Object.keys(fake.last!.body).filter((k) => /^max_/.test(k)).length, 1, id);
    }
  } finally {
    await fake.close();
  }
});

test('an unreachable provider is cone.provider_unreachable', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const registry = new LlmRegistry({ env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` } });
  const resolved = registry.resolve('gpt-4o-mini');
  const { error } = await failure(registry.provider(resolved.service).stream(request(resolved.model)));
  assert.equal(error.code, LlmErrorCode.Unreachable);
  assert.match(error.message, /cannot reach openai at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
});

describe('LlmRegistry', () => {
  test('resolves model ids by family, by service prefix and from the config', () => {
    const r = new LlmRegistry({
      env: {},
      config: {
        services: { local: { format: 'openai', base_url: 'http://127.0.0.1:9/v1' } },
        models: { tiny: { service: 'local', model: 'qwen2.5:0.5b', max_tokens: 256 } },
      },
    });
    assert.equal(r.resolve('claude-3-haiku-20240307').service.name, 'anthropic');
    assert.equal(r.resolve('gpt-4o-mini').service.name, 'openai');
    assert.equal(r.resolve('o3-mini').service.name, 'openai');
    assert.equal(r.resolve('deepseek-chat').service.name, 'deepseek');
    const gemini = r.resolve('gemini-2.5-flash');
    assert.deepEqual([gemini.service.name, gemini.service.format, gemini.family], ['google', 'gemini', 'gemini']);
    assert.deepEqual([r.resolve('azure:my-deployment').service.format, r.resolve('azure:my-deployment').model], ['azure', 'my-deployment']);
    assert.equal(r.resolve('avian:Meta-Llama-3.1-405B-Instruct').service.baseUrl, 'https://api.avian.io/v1');
    const routed = r.resolve('meta-llama/llama-3.1-8b-instruct');
    assert.deepEqual([routed.service.name, routed.family, routed.model], ['openrouter', 'meta-llama', 'meta-llama/llama-3.1-8b-instruct']);
    const prefixed = r.resolve('openai:llama3.1:8b');
    assert.deepEqual([prefixed.service.name, prefixed.model], ['openai', 'llama3.1:8b']);
    const tiny = r.resolve('tiny');
    assert.deepEqual([tiny.service.name, tiny.model, tiny.maxTokens, tiny.service.keyRequired], ['local', 'qwen2.5:0.5b', 256, false]);
    assert.throws(() => r.resolve('nonsense'), /unknown model/);
    assert.throws(() => r.resolve('nope:model'), /unknown model/);
  });

  test('a base URL override makes the key optional (self-hosted servers)', () => {
    const r = new LlmRegistry({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' } });
    assert.equal(r.resolve('gpt-4o').service.keyRequired, false);
    assert.equal(new LlmRegistry({ env: {} }).resolve('gpt-4o').service.keyRequired, true);
  });

  test('keys never appear in the export, in JSON or in inspect output', () => {
    const r = new LlmRegistry({
      env: { ANTHROPIC_API_KEY: 'sk-ant-secret-value-1234', OPENAI_API_KEY: 'sk-openai-secret-5678' },
      config: { services: { x: { format: 'openai', base_url: 'http://h/v1', api_key: 'literal-secret-abcd' } } },
    });
    const dumps = [
      JSON.stringify(r.export()),
      JSON.stringify(r.services()),
      inspect(r.services(), { depth: 10 }),
      inspect(r, { depth: 10 }),
    ].join('\n');
    assert.doesNotMatch(dumps, /secret|1234|5678|abcd/);
    assert.equal(
      r
        .services()
        .find((s) => s.name === 'x')!
        .apiKey!.reveal(),
      'literal-secret-abcd',
    );
  });

  test('a bad config is a clear error that does not quote the file', () => {
    assert.throws(
      () => new LlmRegistry({ env: {}, config: { services: { y: { format: 'grpc' as 'openai', base_url: 'http://h' } } } }),
      /service 'y': format must be one of "anthropic", "openai", "azure", "gemini"/,
    );
    assert.throws(
      () => new LlmRegistry({ env: {}, config: { models: { m: { service: 'missing' } } } }),
      /model 'm': service must name a configured service/,
    );
    assert.throws(
      () => new LlmRegistry({ env: {}, config: { defaults: { temperature: 3 } } }),
      /defaults.temperature must be a number from 0 to 2/,
    );
    assert.throws(
      () => new LlmRegistry({ env: {}, configFile: '/nonexistent/llm.json' }),
      /cannot read LLM config \/nonexistent\/llm.json/,
    );
  });

  test('export lists services, families and models in the reference shape', () => {
    const e = new LlmRegistry({ env: {} }).export();
    assert.deepEqual(
      e.services.map((s) => [s.name, s.message_format]),
      [
        ['anthropic', 'anthropic'],
        ['openai', 'openai'],
        ['deepseek', 'openai'],
        ['openrouter', 'openai'],
        ['google', 'gemini'],
        ['azure', 'azure'],
        ['avian', 'openai'],
      ],
    );
    assert.ok(e.models.some((m) => m.id === 'claude-3-haiku-20240307' && m.service === 'anthropic'));
    assert.equal(e.stats.model_count, e.models.length);
    assert.deepEqual(e.families, [...new Set(e.models.map((m) => m.family))].sort());
  });
});
