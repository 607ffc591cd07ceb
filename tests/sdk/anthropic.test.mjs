// Fidelity tests: the official Anthropic TypeScript SDK (@anthropic-ai/sdk,
// pinned in package.json) against `lightsout twin serve anthropic`. Every
// call goes through the SDK's own request building, retries, response and
// stream parsing; each answer must be what tapes/anthropic.jsonl says.
//
//   LIGHTSOUT  the binary (default: ../../bin/lightsout from this file)
//
// Run: npm ci && node --test anthropic.test.mjs (tests/e2e/sdk.t does both).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTwin as startTwinOf } from './twin.mjs';
import Anthropic from '@anthropic-ai/sdk';

const KEY = 'sk-sdk-test';
const MODEL = 'claude-sonnet-5-5';

const startTwin = () => startTwinOf('anthropic', KEY);

let twin;
let client;

before(async () => {
  twin = await startTwin();
  client = new Anthropic({ apiKey: KEY, baseURL: twin.url, maxRetries: 0 });
});

after(async () => {
  if (twin) await twin.stop();
});

test('the twin prints its base URL and the key to export', () => {
  assert.match(twin.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(twin.key, KEY);
});

test('messages.create: the text and usage on tape', async () => {
  const msg = await client.messages.create({
    model: MODEL,
    max_tokens: 200,
    messages: [{ role: 'user', content: 'Please say hello.' }],
  });
  assert.match(msg.id, /^msg_[0-9A-Za-z]{24}$/);
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, MODEL);
  assert.deepEqual(msg.content, [{ type: 'text', text: 'Hello from the Anthropic twin!' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.stop_sequence, null);
  assert.equal(msg.usage.input_tokens, 12);
  assert.equal(msg.usage.output_tokens, 9);
});

test('messages.create(...).withResponse(): request-id and rate-limit headers', async () => {
  const { data, response, request_id } = await client.messages
    .create({ model: MODEL, max_tokens: 200, messages: [{ role: 'user', content: 'say hello' }] })
    .withResponse();
  assert.equal(data.content[0].text, 'Hello from the Anthropic twin!');
  assert.match(request_id, /^req_/);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('anthropic-ratelimit-requests-limit'), /^\d+$/);
});

test('messages.stream: text deltas and finalMessage as on tape', async () => {
  const want = 'Lights out — the line hums on its own; ça marche, all night, tests in green.';
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 200,
    messages: [{ role: 'user', content: 'stream a haiku' }],
  });
  const deltas = [];
  const events = [];
  stream.on('text', (delta) => deltas.push(delta));
  stream.on('streamEvent', (ev) => events.push(ev.type));
  const msg = await stream.finalMessage();
  assert.ok(deltas.length > 1, `several text deltas (got ${deltas.length})`);
  assert.equal(deltas.join(''), want);
  assert.equal(await stream.finalText(), want);
  assert.deepEqual(msg.content, [{ type: 'text', text: want }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.match(msg.id, /^msg_/);
  assert.ok(msg.usage.output_tokens >= 1);
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.ok(events.includes('message_delta'));
});

test('messages.stream: thinking and its signature, then text', async () => {
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 4000,
    thinking: { type: 'enabled', budget_tokens: 2000 },
    messages: [{ role: 'user', content: 'stream some thinking' }],
  });
  const thoughts = [];
  const signatures = [];
  stream.on('thinking', (delta) => thoughts.push(delta));
  stream.on('signature', (sig) => signatures.push(sig));
  const msg = await stream.finalMessage();
  assert.equal(thoughts.join(''), 'Two plus two is four, said twice for length.');
  assert.deepEqual(signatures, ['c2RrLXNpZ25hdHVyZS1mb3ItdGVzdHM=']);
  assert.equal(msg.content.length, 2);
  assert.equal(msg.content[0].type, 'thinking');
  assert.equal(msg.content[0].thinking, 'Two plus two is four, said twice for length.');
  assert.equal(msg.content[0].signature, 'c2RrLXNpZ25hdHVyZS1mb3ItdGVzdHM=');
  assert.equal(msg.content[1].type, 'text');
  assert.equal(msg.content[1].text, '2 + 2 = 4.');
});

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object',
    properties: {
      city: { type: 'string' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'array', items: { type: 'integer' } },
    },
    required: ['city'],
  },
};

test('messages.stream: text then a tool call whose input JSON arrives in pieces', async () => {
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 200,
    tools: [weatherTool],
    messages: [{ role: 'user', content: 'stream the weather for Lyon' }],
  });
  const jsonPieces = [];
  stream.on('inputJson', (partial) => jsonPieces.push(partial));
  const msg = await stream.finalMessage();
  assert.equal(msg.stop_reason, 'tool_use');
  assert.equal(msg.content.length, 2);
  assert.equal(msg.content[0].type, 'text');
  assert.equal(msg.content[0].text, 'Let me check.');
  const use = msg.content[1];
  assert.equal(use.type, 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.match(use.id, /^toolu_[0-9A-Za-z]{24}$/);
  assert.deepEqual(use.input, { city: 'Lyon', unit: 'celsius', days: [1, 2, 3] });
  assert.ok(jsonPieces.length > 1, `input JSON in several deltas (got ${jsonPieces.length})`);
});

test('tool round trip: tool_use with the taped input, tool_result, final text', async () => {
  const messages = [{ role: 'user', content: "What's the weather in Paris?" }];
  const first = await client.messages.create({
    model: MODEL,
    max_tokens: 200,
    tools: [weatherTool],
    messages,
  });
  assert.equal(first.stop_reason, 'tool_use');
  const uses = first.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 1);
  assert.equal(uses[0].name, 'get_weather');
  assert.deepEqual(uses[0].input, { city: 'Paris', unit: 'celsius' });
  assert.match(uses[0].id, /^toolu_/);

  messages.push({ role: 'assistant', content: first.content });
  messages.push({
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: uses[0].id, content: '18°C, sunny' }],
  });
  const second = await client.messages.create({
    model: MODEL,
    max_tokens: 200,
    tools: [weatherTool],
    messages,
  });
  assert.equal(second.stop_reason, 'end_turn');
  assert.deepEqual(second.content, [{ type: 'text', text: 'It is 18°C and sunny in Paris.' }]);
});

test('structured output: a forced tool call, its input parsed', async () => {
  const msg = await client.messages.create({
    model: MODEL,
    max_tokens: 200,
    tools: [
      {
        name: 'record_person',
        description: 'Record a person',
        input_schema: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            born: { type: 'integer' },
            fields: { type: 'array', items: { type: 'string' } },
            notes: { type: ['string', 'null'] },
          },
          required: ['name', 'born', 'fields', 'notes'],
        },
      },
    ],
    tool_choice: { type: 'tool', name: 'record_person' },
    messages: [{ role: 'user', content: 'Extract the person: Ada Lovelace, born 1815.' }],
  });
  assert.equal(msg.content.length, 1);
  const use = msg.content[0];
  assert.equal(use.type, 'tool_use');
  assert.equal(use.name, 'record_person');
  assert.deepEqual(use.input, {
    name: 'Ada Lovelace',
    born: 1815,
    fields: ['mathematics', 'computing'],
    notes: null,
  });
});

test('a wrong key: AuthenticationError, status 401, not retried', async () => {
  const bad = new Anthropic({ apiKey: 'sk-wrong', baseURL: twin.url, maxRetries: 2 });
  const t0 = Date.now();
  await assert.rejects(
    bad.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'say hello' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.AuthenticationError, `got ${e?.constructor?.name}: ${e}`);
      assert.ok(e instanceof Anthropic.APIError);
      assert.equal(e.status, 401);
      assert.equal(e.error?.type, 'error');
      assert.equal(e.error?.error?.type, 'authentication_error');
      assert.match(e.requestID ?? '', /^req_/);
      assert.ok(!String(e.message).includes('sk-wrong'), 'the key is not echoed');
      return true;
    },
  );
  assert.ok(Date.now() - t0 < 1000, 'a 401 is not retried');
});

test('a 429 with Retry-After: 1, retried by the SDK by itself, then the answer', async () => {
  const fresh = await startTwin();
  try {
    const c = new Anthropic({ apiKey: KEY, baseURL: fresh.url, maxRetries: 2 });
    const t0 = Date.now();
    const msg = await c.messages.create({
      model: MODEL,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'rate limited?' }],
    });
    const took = Date.now() - t0;
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Worth the wait.' }]);
    assert.ok(took >= 900, `the SDK waited for Retry-After (took ${took} ms)`);
    assert.ok(took < 5000, `and not much longer (took ${took} ms)`);
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), /POST \/v1\/messages 429 call=1/);
  assert.match(fresh.stderr(), /POST \/v1\/messages 200 call=2/);
});

test('a 429 with retries off: RateLimitError with status 429 and retry-after', async () => {
  const fresh = await startTwin();
  try {
    const c = new Anthropic({ apiKey: KEY, baseURL: fresh.url, maxRetries: 0 });
    await assert.rejects(
      c.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'rate limited?' }] }),
      (e) => {
        assert.ok(e instanceof Anthropic.RateLimitError, `got ${e?.constructor?.name}: ${e}`);
        assert.equal(e.status, 429);
        assert.equal(e.headers.get('retry-after'), '1');
        assert.equal(e.error?.error?.type, 'rate_limit_error');
        return true;
      },
    );
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
});

test('a 500, retried by the SDK (maxRetries 1), then the answer', async () => {
  const fresh = await startTwin();
  try {
    const c = new Anthropic({ apiKey: KEY, baseURL: fresh.url, maxRetries: 1 });
    const msg = await c.messages.create({
      model: MODEL,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'server error once' }],
    });
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Recovered after a server error.' }]);
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), /POST \/v1\/messages 500 call=1/);
  assert.match(fresh.stderr(), /POST \/v1\/messages 200 call=2/);
});

test('a 500 every time: InternalServerError with status 500 after the retries', async () => {
  const c = new Anthropic({ apiKey: KEY, baseURL: twin.url, maxRetries: 1 });
  await assert.rejects(
    c.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'always broken' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.InternalServerError, `got ${e?.constructor?.name}: ${e}`);
      assert.equal(e.status, 500);
      assert.equal(e.error?.error?.type, 'api_error');
      return true;
    },
  );
});

test('a request the twin rejects: BadRequestError naming the closest tape entry', async () => {
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'nothing like it' }] }),
    (e) => {
      assert.ok(e instanceof Anthropic.BadRequestError, `got ${e?.constructor?.name}: ${e}`);
      assert.equal(e.status, 400);
      assert.equal(e.error?.error?.type, 'invalid_request_error');
      assert.match(e.error?.error?.message, /no tape entry matches/);
      return true;
    },
  );
});

test('SIGINT stops the twin with exit 0', async () => {
  const t = twin;
  twin = undefined;
  assert.equal(await t.stop(), 0);
});
