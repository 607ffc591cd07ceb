// Fidelity tests: the official OpenAI TypeScript SDK (openai, pinned in
// package.json) against `lightsout twin serve openai`: the Responses API and
// Chat Completions, plain and through the SDK's stream helpers, a tool round
// trip, structured output parsed by the SDK, and the errors and retries the
// SDK handles by itself. Each answer must be what tapes/openai.jsonl says.
//
//   LIGHTSOUT  the binary (default: ../../bin/lightsout from this file)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwin as startTwinOf } from './twin.mjs';
import OpenAI from 'openai';

const KEY = 'sk-sdk-test';
const MODEL = 'gpt-6.1-sol';

const startTwin = () => startTwinOf('openai', KEY);

let twin;
let client;

before(async () => {
  twin = await startTwin();
  client = new OpenAI({ apiKey: KEY, baseURL: twin.url, maxRetries: 0 });
});

after(async () => {
  if (twin) await twin.stop();
});

const HAIKU = 'Lights out — the line hums on its own; ça marche, all night, tests in green.';

test('the twin prints its base URL (with /v1) and the key to export', () => {
  assert.match(twin.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  assert.equal(twin.key, KEY);
});

test('responses.create: output_text and usage on tape', async () => {
  const r = await client.responses.create({ model: MODEL, input: 'Please say hello.' });
  assert.match(r.id, /^resp_/);
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'completed');
  assert.equal(r.model, MODEL);
  assert.equal(r.output_text, 'Hello from the OpenAI twin!');
  assert.equal(r.usage.input_tokens, 11);
  assert.equal(r.usage.output_tokens, 8);
  assert.equal(r.usage.total_tokens, 19);
});

test('responses.stream: output_text deltas and finalResponse as on tape', async () => {
  const stream = client.responses.stream({ model: MODEL, input: 'stream a haiku' });
  const deltas = [];
  stream.on('response.output_text.delta', (ev) => deltas.push(ev.delta));
  const r = await stream.finalResponse();
  assert.ok(deltas.length > 1, `several deltas (got ${deltas.length})`);
  assert.equal(deltas.join(''), HAIKU);
  // output_text is a convenience the SDK adds to responses.create only
  const text = r.output
    .filter((o) => o.type === 'message')
    .flatMap((o) => o.content)
    .filter((c) => c.type === 'output_text')
    .map((c) => c.text)
    .join('');
  assert.equal(text, HAIKU);
  assert.equal(r.status, 'completed');
  assert.match(r.id, /^resp_/);
});

test('responses: a function call round trip', async () => {
  const tools = [
    {
      type: 'function',
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string' } },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
      strict: true,
    },
  ];
  const input = [{ role: 'user', content: "What's the weather in Paris?" }];
  const first = await client.responses.create({ model: MODEL, input, tools });
  const calls = first.output.filter((o) => o.type === 'function_call');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'get_weather');
  assert.deepEqual(JSON.parse(calls[0].arguments), { city: 'Paris', unit: 'celsius' });
  input.push(...first.output);
  input.push({ type: 'function_call_output', call_id: calls[0].call_id, output: '18°C, sunny' });
  const second = await client.responses.create({ model: MODEL, input, tools });
  assert.equal(second.output_text, 'It is 18°C and sunny in Paris.');
});

test('chat.completions.create: content and usage on tape', async () => {
  const c = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Please say hello.' }],
  });
  assert.match(c.id, /^chatcmpl-/);
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].message.content, 'Hello from the OpenAI twin!');
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.usage.prompt_tokens, 11);
  assert.equal(c.usage.completion_tokens, 8);
});

test('chat.completions.stream: content deltas and finalChatCompletion as on tape', async () => {
  const stream = client.chat.completions.stream({
    model: MODEL,
    messages: [{ role: 'user', content: 'stream a haiku' }],
    stream_options: { include_usage: true },
  });
  const deltas = [];
  stream.on('content.delta', ({ delta }) => deltas.push(delta));
  const c = await stream.finalChatCompletion();
  assert.ok(deltas.length > 1, `several deltas (got ${deltas.length})`);
  assert.equal(deltas.join(''), HAIKU);
  assert.equal(c.choices[0].message.content, HAIKU);
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.ok(c.usage?.completion_tokens >= 1);
});

test('chat: a tool call round trip', async () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } },
      },
    },
  ];
  const messages = [{ role: 'user', content: "What's the weather in Paris?" }];
  const first = await client.chat.completions.create({ model: MODEL, messages, tools });
  const msg = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls.length, 1);
  assert.equal(msg.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris', unit: 'celsius' });
  messages.push(msg);
  messages.push({ role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '18°C, sunny' });
  const second = await client.chat.completions.create({ model: MODEL, messages, tools });
  assert.equal(second.choices[0].message.content, 'It is 18°C and sunny in Paris.');
});

test('structured output: chat.completions.parse with a json_schema format', async () => {
  const c = await client.chat.completions.parse({
    model: MODEL,
    messages: [{ role: 'user', content: 'Extract the person: Ada Lovelace, born 1815.' }],
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'person',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            born: { type: 'integer' },
            fields: { type: 'array', items: { type: 'string' } },
          },
          required: ['name', 'born', 'fields'],
          additionalProperties: false,
        },
      },
    },
  });
  assert.deepEqual(c.choices[0].message.parsed, {
    name: 'Ada Lovelace',
    born: 1815,
    fields: ['mathematics', 'computing'],
  });
});

test('a wrong key: AuthenticationError, status 401, not retried', async () => {
  const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: twin.url, maxRetries: 2 });
  const t0 = Date.now();
  await assert.rejects(bad.responses.create({ model: MODEL, input: 'say hello' }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e}`);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    assert.match(e.requestID ?? '', /^req_/);
    assert.ok(!String(e.message).includes('sk-wrong'), 'the key is not echoed');
    return true;
  });
  assert.ok(Date.now() - t0 < 1000, 'a 401 is not retried');
});

test('a 429 with Retry-After: 1, retried by the SDK by itself, then the answer', async () => {
  const fresh = await startTwin();
  try {
    const c = new OpenAI({ apiKey: KEY, baseURL: fresh.url, maxRetries: 2 });
    const t0 = Date.now();
    const r = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'rate limited?' }] });
    const took = Date.now() - t0;
    assert.equal(r.choices[0].message.content, 'Worth the wait.');
    assert.ok(took >= 900, `the SDK waited for Retry-After (took ${took} ms)`);
    assert.ok(took < 5000, `and not much longer (took ${took} ms)`);
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), / 429 call=1/);
  assert.match(fresh.stderr(), / 200 call=2/);
});

test('a 429 with retries off: RateLimitError with status 429', async () => {
  const fresh = await startTwin();
  try {
    const c = new OpenAI({ apiKey: KEY, baseURL: fresh.url, maxRetries: 0 });
    await assert.rejects(c.responses.create({ model: MODEL, input: 'rate limited?' }), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${e?.constructor?.name}: ${e}`);
      assert.equal(e.status, 429);
      assert.equal(e.code, 'rate_limit_exceeded');
      assert.equal(e.headers.get('retry-after'), '1');
      return true;
    });
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
});

test('a 500, retried by the SDK (maxRetries 1), then the answer', async () => {
  const fresh = await startTwin();
  try {
    const c = new OpenAI({ apiKey: KEY, baseURL: fresh.url, maxRetries: 1 });
    const r = await c.responses.create({ model: MODEL, input: 'server error once' });
    assert.equal(r.output_text, 'Recovered after a server error.');
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), / 500 call=1/);
  assert.match(fresh.stderr(), / 200 call=2/);
});

test('SIGINT stops the twin with exit 0', async () => {
  const t = twin;
  twin = undefined;
  assert.equal(await t.stop(), 0);
});
