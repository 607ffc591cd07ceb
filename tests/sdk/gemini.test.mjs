// Fidelity tests: the official Google Gen AI SDK (@google/genai, pinned in
// package.json) against `lightsout twin serve gemini`: generateContent
// plain and streamed (generateContentStream), thought summaries with their
// signature, a function-call round trip, structured output through
// responseSchema, countTokens and the model list, and the errors and
// retries the SDK handles. Each answer must be what tapes/gemini.jsonl says.
//
//   LIGHTSOUT  the binary (default: ../../bin/lightsout from this file)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, GoogleGenAI, Type } from '@google/genai';
import { startTwin as startTwinOf } from './twin.mjs';

const KEY = 'AIza-sdk-test';
const MODEL = 'gemini-3.8-flash';
const HAIKU = 'Lights out — the line hums on its own; ça marche, all night, tests in green.';

const startTwin = () => startTwinOf('gemini', KEY);
// The SDK retries only with httpOptions.retryOptions, and with its own
// backoff (initialDelay, 1 s by default): it does not read Retry-After.
const genai = (url, key = KEY, retryOptions = undefined) =>
  new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: url, retryOptions } });

let twin;
let ai;

before(async () => {
  twin = await startTwin();
  ai = genai(twin.url);
});

after(async () => {
  if (twin) await twin.stop();
});

test('the twin prints its base URL (no path: the SDK adds /v1beta) and the key', () => {
  assert.match(twin.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(twin.key, KEY);
});

test('models.generateContent: text, usage, ids as on tape', async () => {
  const r = await ai.models.generateContent({ model: MODEL, contents: 'Please say hello.' });
  assert.equal(r.text, 'Hello from the Gemini twin!');
  assert.equal(r.candidates.length, 1);
  assert.equal(r.candidates[0].finishReason, 'STOP');
  assert.equal(r.candidates[0].content.role, 'model');
  assert.equal(r.usageMetadata.promptTokenCount, 10);
  assert.equal(r.usageMetadata.candidatesTokenCount, 7);
  assert.equal(r.usageMetadata.totalTokenCount, 17);
  assert.equal(r.modelVersion, MODEL);
  assert.ok(r.responseId, 'a responseId');
});

test('models.generateContentStream: several chunks whose text is the tape', async () => {
  const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'stream a haiku' });
  const pieces = [];
  let last;
  for await (const chunk of stream) {
    pieces.push(chunk.text ?? '');
    last = chunk;
  }
  assert.ok(pieces.length > 1, `several chunks (got ${pieces.length})`);
  assert.equal(pieces.join(''), HAIKU);
  assert.equal(last.candidates[0].finishReason, 'STOP');
  assert.ok(last.usageMetadata.candidatesTokenCount >= 1);
});

test('thinking: thought summaries, their text apart from the answer, and the signature', async () => {
  const r = await ai.models.generateContent({
    model: MODEL,
    contents: 'think it over',
    config: { thinkingConfig: { includeThoughts: true } },
  });
  const parts = r.candidates[0].content.parts;
  const thought = parts.filter((p) => p.thought).map((p) => p.text).join('');
  assert.equal(thought, 'Two plus two is four, said twice for length.');
  assert.equal(r.text, '2 + 2 = 4.', 'the SDK leaves thoughts out of .text');
  assert.ok(parts.some((p) => p.thoughtSignature === 'c2RrLWdlbWluaS1zaWduYXR1cmU='));
  assert.ok(r.usageMetadata.thoughtsTokenCount >= 1);
});

test('a function call round trip', async () => {
  const config = {
    tools: [
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: {
              type: Type.OBJECT,
              properties: { city: { type: Type.STRING }, unit: { type: Type.STRING } },
              required: ['city', 'unit'],
            },
          },
        ],
      },
    ],
  };
  const contents = [{ role: 'user', parts: [{ text: "What's the weather in Paris?" }] }];
  const first = await ai.models.generateContent({ model: MODEL, contents, config });
  assert.equal(first.functionCalls.length, 1);
  assert.equal(first.functionCalls[0].name, 'get_weather');
  assert.deepEqual(first.functionCalls[0].args, { city: 'Paris', unit: 'celsius' });
  contents.push(first.candidates[0].content);
  contents.push({
    role: 'user',
    parts: [{ functionResponse: { name: 'get_weather', response: { result: '18°C, sunny' } } }],
  });
  const second = await ai.models.generateContent({ model: MODEL, contents, config });
  assert.equal(second.text, 'It is 18°C and sunny in Paris.');
  assert.equal(second.functionCalls, undefined);
});

test('structured output: responseMimeType application/json with a responseSchema', async () => {
  const r = await ai.models.generateContent({
    model: MODEL,
    contents: 'Extract the person: Ada Lovelace, born 1815.',
    config: {
      responseMimeType: 'application/json',
      responseSchema: {
        type: Type.OBJECT,
        properties: {
          name: { type: Type.STRING },
          born: { type: Type.INTEGER },
          fields: { type: Type.ARRAY, items: { type: Type.STRING } },
        },
        required: ['name', 'born', 'fields'],
      },
    },
  });
  assert.deepEqual(JSON.parse(r.text), {
    name: 'Ada Lovelace',
    born: 1815,
    fields: ['mathematics', 'computing'],
  });
});

test('models.countTokens and models.list', async () => {
  const c = await ai.models.countTokens({ model: MODEL, contents: 'hello there' });
  assert.equal(c.totalTokens, 10, 'the documented approximation: 3 + 4 + ceil(11 / 4)');
  const names = [];
  const pager = await ai.models.list({ config: { pageSize: 5 } });
  for await (const m of pager) names.push(m.name);
  assert.ok(names.includes(`models/${MODEL}`), `the catalog's model is listed (${names.length} models)`);
  assert.ok(names.length > 5, 'the pager followed nextPageToken');
});

test('a wrong key: ApiError 400 API_KEY_INVALID (the API answers 400, not 401), no key echoed', async () => {
  const bad = genai(twin.url, 'AIza-wrong');
  await assert.rejects(bad.models.generateContent({ model: MODEL, contents: 'say hello' }), (e) => {
    assert.ok(e instanceof ApiError, `got ${e?.constructor?.name}: ${e}`);
    assert.equal(e.status, 400);
    assert.match(e.message, /API key not valid/);
    assert.match(e.message, /API_KEY_INVALID/);
    assert.ok(!e.message.includes('AIza-wrong'), 'the key is not echoed');
    return true;
  });
});

test('an unknown model: ApiError 404 NOT_FOUND', async () => {
  await assert.rejects(ai.models.generateContent({ model: 'gemini-0-nope', contents: 'hi' }), (e) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 404);
    assert.match(e.message, /NOT_FOUND/);
    return true;
  });
});

test('a 429, retried by the SDK with retryOptions, then the answer', async () => {
  const fresh = await startTwin();
  try {
    const c = genai(fresh.url, KEY, { attempts: 3 });
    const t0 = Date.now();
    const r = await c.models.generateContent({ model: MODEL, contents: 'rate limited?' });
    const took = Date.now() - t0;
    assert.equal(r.text, 'Worth the wait.');
    assert.ok(took >= 900, `the SDK backed off before retrying (took ${took} ms)`);
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), / 429 call=1/);
  assert.match(fresh.stderr(), / 200 call=2/);
});

test('a 429 without retries: ApiError 429 RESOURCE_EXHAUSTED with RetryInfo', async () => {
  const fresh = await startTwin();
  try {
    const c = genai(fresh.url);
    await assert.rejects(c.models.generateContent({ model: MODEL, contents: 'rate limited?' }), (e) => {
      assert.ok(e instanceof ApiError, `got ${e?.constructor?.name}: ${e}`);
      assert.equal(e.status, 429);
      assert.match(e.message, /RESOURCE_EXHAUSTED/);
      assert.match(e.message, /RetryInfo/);
      return true;
    });
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
});

test('a 500, retried by the SDK, then the answer; a 500 every time is an ApiError 500', async () => {
  const fresh = await startTwin();
  try {
    const c = genai(fresh.url, KEY, { attempts: 2, initialDelay: 0.1 });
    const r = await c.models.generateContent({ model: MODEL, contents: 'server error once' });
    assert.equal(r.text, 'Recovered after a server error.');
    await assert.rejects(c.models.generateContent({ model: MODEL, contents: 'always broken' }), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 500);
      assert.match(e.message, /INTERNAL/);
      return true;
    });
  } finally {
    assert.equal(await fresh.stop(), 0);
  }
  assert.match(fresh.stderr(), / 500 call=1/);
  assert.match(fresh.stderr(), / 200 call=2/);
  assert.match(fresh.stderr(), / 500 call=4/, 'always broken: the first attempt and its retry');
});

test('SIGINT stops the twin with exit 0', async () => {
  const t = twin;
  twin = undefined;
  assert.equal(await t.stop(), 0);
});
