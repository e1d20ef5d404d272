// End-to-end test of `cpplm serve` with the official OpenAI client (npm `openai`, pinned in
// package.json). tests/server/run_node_tests.sh starts the server and runs this file twice: against
// the server directly, then through the Prism validation proxy (`prism proxy --errors`), which turns
// any request or response that breaks OpenAI's API description (tests/server/spec) into an error.
//
// Environment:
//   CPPLM_BASE_URL          the client's baseURL: http://HOST:PORT/v1 directly, or Prism's
//                           http://HOST:PPORT (the description's paths are relative to /v1)
//   CPPLM_API_KEY           the key the server was started with (--api-key)
//   CPPLM_SERVER_URL        the server itself (http://HOST:PORT), for the endpoints OpenAI's
//                           description does not have (/health, /metrics, /tokenize, /detokenize)
//   CPPLM_LIMITED_BASE_URL  a second server started with --max-concurrent 1 --max-queue 1, for the
//                           429 case (directly: Prism takes half a minute to start, and the direct
//                           run already checks the 429 answer against the description)
//   CPPLM_VIA_PRISM=1       the requests go through Prism: the cases that send invalid requests on
//                           purpose (400) or get answers the description does not list (401, 404)
//                           run only directly, since Prism would flag them as violations.
//
// Prism cannot check streamed answers (it validates the whole text/event-stream body as one JSON
// object and reports "Response body must be object"), so streamed requests always go to the server
// directly; their request bodies and every chunk are checked here against the same description with
// Prism's validator (spec_check.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { prepare, violations } from './spec_check.mjs';

const BASE_URL = process.env.CPPLM_BASE_URL;
const SERVER_URL = process.env.CPPLM_SERVER_URL;
const API_KEY = process.env.CPPLM_API_KEY || 'no-key';
const LIMITED_BASE_URL = process.env.CPPLM_LIMITED_BASE_URL;
const VIA_PRISM = process.env.CPPLM_VIA_PRISM === '1';
if (!BASE_URL || !SERVER_URL) throw new Error('CPPLM_BASE_URL and CPPLM_SERVER_URL must be set');

prepare(['CreateChatCompletionRequest', 'CreateCompletionRequest', 'CreateChatCompletionStreamResponse',
         'CreateCompletionResponse', 'ErrorResponse']);

const MODEL = 'llama-6m-kjv-fortunes';
const EOS_BIAS = { 1: -100, 9: -100 };  // <|end_of_text|>, <|eot_id|>: generate until max_tokens
// Through Prism, an answer that Prism replaced by an error names the violations in its
// sl-violations header (the client's error says only "422" or "500"): print them.
async function reportingFetch(url, init) {
  const res = await fetch(url, init);
  const found = res.headers.get('sl-violations');
  if (found) console.error(`Prism: ${init?.method ?? 'GET'} ${new URL(url).pathname} violates the API description: ${found}\n  request: ${init?.body ?? ''}`);
  return res;
}
const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY, maxRetries: 0, timeout: 30_000, fetch: reportingFetch });

// Streamed requests: directly to the server, each request body checked against the description.
const REQUEST_SCHEMA = { '/chat/completions': 'CreateChatCompletionRequest', '/completions': 'CreateCompletionRequest' };
async function checkedFetch(url, init) {
  const path = new URL(url).pathname.replace(/^\/v1/, '');
  if (REQUEST_SCHEMA[path] && typeof init?.body === 'string') {
    const v = violations(REQUEST_SCHEMA[path], JSON.parse(init.body));
    assert.deepEqual(v, [], `request to ${path} breaks the API description: ${init.body}`);
  }
  return fetch(url, init);
}
const streamClient = new OpenAI({ baseURL: SERVER_URL + '/v1', apiKey: API_KEY, maxRetries: 0, timeout: 30_000, fetch: checkedFetch });
const directOnly = { skip: VIA_PRISM ? 'an invalid request or an answer outside the API description: direct only' : false };

const USER = [{ role: 'user', content: 'Who begat Enos?' }];
const PROMPT = 'In the beginning God created';

function checkUsage(usage, maxCompletion) {
  assert.ok(usage, 'usage present');
  assert.ok(Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, `prompt_tokens ${usage.prompt_tokens}`);
  assert.ok(Number.isInteger(usage.completion_tokens) && usage.completion_tokens >= 1, `completion_tokens ${usage.completion_tokens}`);
  if (maxCompletion !== undefined) assert.ok(usage.completion_tokens <= maxCompletion, `completion_tokens ${usage.completion_tokens} > ${maxCompletion}`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

// The chunks of a stream, each checked against the description: chat chunks against
// CreateChatCompletionStreamResponse; completion chunks against CreateCompletionResponse (the
// description says both share one shape), less its finish_reason being a string: a streamed
// completion's chunks have finish_reason null until the last, as OpenAI's own API sends them.
async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) {
    const chat = chunk.object === 'chat.completion.chunk';
    const nullFinish = e => {
      const m = /^\/choices\/(\d+)\/finish_reason$/.exec(e.instancePath);
      return !chat && m && chunk.choices[Number(m[1])].finish_reason === null;
    };
    const v = violations(chat ? 'CreateChatCompletionStreamResponse' : 'CreateCompletionResponse', chunk, nullFinish);
    assert.deepEqual(v, [], `chunk breaks the API description: ${JSON.stringify(chunk)}`);
    chunks.push(chunk);
  }
  return chunks;
}

async function direct(path, init = {}) {
  const res = await fetch(SERVER_URL + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

async function postDirect(path, body, headers = {}) {
  const r = await direct(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  let json;
  try { json = JSON.parse(r.text); } catch { json = undefined; }
  return { ...r, json };
}

// The gauges of /metrics that count requests in progress (e.g. cpplm_requests_running).
async function runningGauges() {
  const r = await direct('/metrics', { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(r.status, 200, `/metrics: ${r.text}`);
  const gauges = {};
  for (const line of r.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    if (/running|processing|in_flight|inflight|active/i.test(m[1]) && !/(_total|_count|_sum|_bucket|_created)$/.test(m[1]))
      gauges[m[1] + (m[2] || '')] = Number(m[3]);
  }
  return gauges;
}

test('models.list names the served model', async () => {
  const ids = [];
  for await (const model of client.models.list()) {
    assert.equal(model.object, 'model');
    assert.equal(typeof model.owned_by, 'string');
    assert.ok(Number.isInteger(model.created));
    ids.push(model.id);
  }
  assert.deepEqual(ids, [MODEL]);
});

test('chat completion', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 16, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(typeof r.id, 'string');
  assert.ok(Number.isInteger(r.created));
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(c.message.content.length > 0, 'content not empty');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  checkUsage(r.usage, 16);
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 16);

  // Greedy decoding is deterministic; max_completion_tokens is max_tokens' newer name.
  const again = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 16, temperature: 0 });
  assert.equal(again.choices[0].message.content, c.message.content);
  const short = await client.chat.completions.create({
    model: MODEL, messages: USER, max_completion_tokens: 4, temperature: 0, logit_bias: EOS_BIAS });
  assert.equal(short.choices[0].finish_reason, 'length');
  assert.equal(short.usage.completion_tokens, 4);
});

test('chat completion with a system message, every sampling field and user', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'system', content: 'You are a fortune cookie.' }, ...USER,
               { role: 'assistant', content: 'Seth.' }, { role: 'user', content: 'And then?' }],
    max_tokens: 12, temperature: 0.7, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: 0.5,
    seed: 1, user: 'tester', stop: ['\n\n\n'],
    // Not in OpenAI's API; cpplm (like llama.cpp and vLLM) takes them.
    top_k: 40, min_p: 0.05, repetition_penalty: 1.1,
  });
  assert.equal(r.choices[0].message.role, 'assistant');
  checkUsage(r.usage, 12);
});

test('chat stream with include_usage', async () => {
  const params = { model: MODEL, messages: USER, max_tokens: 20, temperature: 0 };
  const whole = await client.chat.completions.create(params);
  const chunks = await collect(await streamClient.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
  assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
  for (const ch of chunks) {
    assert.equal(ch.object, 'chat.completion.chunk');
    assert.equal(ch.id, chunks[0].id, 'one id for every chunk');
    assert.equal(ch.model, MODEL);
  }
  assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'first chunk has the role');
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk.choices, [], 'usage chunk has no choices');
  for (const ch of chunks.slice(0, -1)) assert.ok(ch.usage == null, 'only the last chunk has usage');
  const finishChunk = chunks.at(-2);
  assert.equal(finishChunk.choices.length, 1);
  assert.ok(['stop', 'length'].includes(finishChunk.choices[0].finish_reason), `finish_reason ${finishChunk.choices[0].finish_reason}`);
  assert.ok(!finishChunk.choices[0].delta.content, 'finish chunk has an empty delta');
  for (const ch of chunks.slice(0, -2)) assert.equal(ch.choices[0].finish_reason, null);
  const text = chunks.slice(0, -1).map(ch => ch.choices[0].delta.content ?? '').join('');
  assert.equal(text, whole.choices[0].message.content, 'the deltas make the non-streamed text');
  assert.equal(finishChunk.choices[0].finish_reason, whole.choices[0].finish_reason);
  checkUsage(usageChunk.usage, 20);
  assert.deepEqual(usageChunk.usage, whole.usage);
});

test('chat stream without include_usage has no usage chunk', async () => {
  const chunks = await collect(await streamClient.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 5, temperature: 0, stream: true }));
  assert.ok(chunks.every(ch => ch.choices.length === 1 && ch.usage == null));
  assert.ok(chunks.at(-1).choices[0].finish_reason);
});

test('completion and completion stream', async () => {
  const params = { model: MODEL, prompt: PROMPT, max_tokens: 16, temperature: 0 };
  const r = await client.completions.create(params);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(r.choices[0].text.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  checkUsage(r.usage, 16);

  const chunks = await collect(await streamClient.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
  for (const ch of chunks) assert.equal(ch.object, 'text_completion');
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk.choices, []);
  assert.deepEqual(usageChunk.usage, r.usage);
  const body = chunks.slice(0, -1);
  assert.equal(body.map(ch => ch.choices[0].text).join(''), r.choices[0].text);
  assert.equal(body.at(-1).choices[0].finish_reason, r.choices[0].finish_reason);
  for (const ch of body.slice(0, -1)) assert.equal(ch.choices[0].finish_reason, null);
});

test('stop strings end the text before them', async () => {
  const params = { model: MODEL, prompt: PROMPT, max_tokens: 24, temperature: 0, logit_bias: EOS_BIAS };
  const full = (await client.completions.create(params)).choices[0].text;
  const words = full.trim().split(/\s+/);
  assert.ok(words.length >= 3, `text: ${JSON.stringify(full)}`);
  const stop = ' ' + words[2];
  const cut = full.slice(0, full.indexOf(stop));
  const r = await client.completions.create({ ...params, stop: [stop, 'never-generated-xyz'] });
  assert.equal(r.choices[0].text, cut);
  assert.equal(r.choices[0].finish_reason, 'stop');
  const chunks = await collect(await streamClient.completions.create({ ...params, stop, stream: true }));
  assert.equal(chunks.map(ch => ch.choices[0]?.text ?? '').join(''), cut, 'streamed text stops before the stop string');
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
});

test('n=2 gives two choices', async () => {
  const chat = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 8, temperature: 0.9, seed: 3, n: 2 });
  assert.deepEqual(chat.choices.map(c => c.index).sort(), [0, 1]);
  for (const c of chat.choices) assert.equal(c.message.role, 'assistant');
  checkUsage(chat.usage, 16);
  const comp = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 8, temperature: 0.9, seed: 3, n: 2 });
  assert.deepEqual(comp.choices.map(c => c.index).sort(), [0, 1]);
  checkUsage(comp.usage, 16);
  const chunks = await collect(await streamClient.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 6, temperature: 0.9, n: 2, stream: true }));
  const finished = new Set();
  for (const ch of chunks) for (const c of ch.choices) if (c.finish_reason) finished.add(c.index);
  assert.deepEqual([...finished].sort(), [0, 1], 'both streamed choices finish');
});

test('concurrent greedy requests give the texts they give one at a time', async () => {
  // The server batches concurrent requests (and reuses cached prompt prefixes): neither may change
  // a greedy continuation.
  const prompts = [PROMPT, 'And the LORD spake unto Moses', 'Blessed are the', 'You will meet a tall'];
  const one = prompt => client.completions.create({ model: MODEL, prompt, max_tokens: 24, temperature: 0, logit_bias: EOS_BIAS });
  const alone = [];
  for (const p of prompts) alone.push((await one(p)).choices[0].text);
  const together = (await Promise.all([...prompts, ...prompts].map(one))).map(r => r.choices[0].text);
  assert.deepEqual(together, [...alone, ...alone]);
  const n2 = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 12, temperature: 0, n: 2 });
  assert.equal(n2.choices[0].message.content, n2.choices[1].message.content, 'greedy choices are equal');
});

test('chat logprobs with top_logprobs=2', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
  const c = r.choices[0];
  assert.ok(c.logprobs && Array.isArray(c.logprobs.content), 'logprobs.content');
  assert.equal(c.logprobs.content.length, r.usage.completion_tokens);
  for (const e of c.logprobs.content) {
    assert.equal(typeof e.token, 'string');
    assert.ok(e.logprob <= 0, `logprob ${e.logprob}`);
    assert.ok(Array.isArray(e.bytes));
    assert.equal(e.top_logprobs.length, 2);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob, 'top_logprobs sorted');
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(e.logprob - e.top_logprobs[0].logprob) < 1e-4, `${e.logprob} vs ${e.top_logprobs[0].logprob}`);
    assert.equal(e.token, e.top_logprobs[0].token);
  }
  assert.equal(c.logprobs.content.map(e => e.token).join(''), c.message.content);
  const bytes = c.logprobs.content.flatMap(e => e.bytes);
  assert.equal(Buffer.from(bytes).toString('utf8'), c.message.content);

  // Without logprobs there are none.
  const plain = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 2, temperature: 0 });
  assert.ok(plain.choices[0].logprobs == null);

  // Streamed: each content chunk carries its tokens' logprobs; together they are the same.
  const chunks = await collect(await streamClient.chat.completions.create({
    model: MODEL, messages: USER, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2, stream: true }));
  const streamed = chunks.flatMap(ch => ch.choices[0]?.logprobs?.content ?? []);
  assert.deepEqual(streamed.map(e => e.token), c.logprobs.content.map(e => e.token));
  assert.equal(chunks.map(ch => ch.choices[0]?.delta?.content ?? '').join(''), c.message.content);

  // "bytes" are the token's own bytes, which need not be UTF-8 by themselves: the token of the
  // single byte 0xE2 (id 414 of the byte-level vocabulary, forced by logit_bias) is [226], whatever
  // "token" shows for it.
  const lone = await client.chat.completions.create({
    model: MODEL, messages: USER, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 1, logit_bias: { 414: 100 } });
  assert.deepEqual(lone.choices[0].logprobs.content[0].bytes, [0xe2], JSON.stringify(lone.choices[0].logprobs.content[0]));
});

test('completion logprobs=2', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.ok(lp, 'logprobs');
  assert.equal(lp.tokens.length, r.usage.completion_tokens);
  assert.equal(lp.token_logprobs.length, lp.tokens.length);
  assert.equal(lp.top_logprobs.length, lp.tokens.length);
  assert.equal(lp.text_offset.length, lp.tokens.length);
  assert.equal(lp.tokens.join(''), r.choices[0].text);
  for (let i = 0; i < lp.tokens.length; i++) {
    assert.ok(lp.token_logprobs[i] <= 0);
    const top = Object.entries(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 3, `top_logprobs[${i}] has ${top.length} entries`);
    const best = Math.max(...top.map(([, v]) => v));
    assert.ok(Math.abs(lp.token_logprobs[i] - best) < 1e-4, 'greedy: the chosen token is the most likely one');
    if (i > 0) assert.equal(lp.text_offset[i], lp.text_offset[i - 1] + lp.tokens[i - 1].length);
  }
  // Streamed, the chunks' logprobs put together are the same (text_offset counts from the start of
  // the completion, not of the chunk).
  const chunks = await collect(await streamClient.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 8, temperature: 0, logprobs: 2, stream: true }));
  const parts = chunks.map(ch => ch.choices[0]?.logprobs).filter(Boolean);
  assert.deepEqual(parts.flatMap(l => l.tokens), lp.tokens);
  assert.deepEqual(parts.flatMap(l => l.text_offset), lp.text_offset, 'streamed text_offset');
});

test('seeded sampling is reproducible', async () => {
  const params = { model: MODEL, messages: USER, max_tokens: 24, temperature: 0.9, logit_bias: EOS_BIAS };
  const text = async seed => (await client.chat.completions.create({ ...params, seed })).choices[0].message.content;
  const a = await text(7);
  const b = await text(7);
  assert.equal(a, b, 'same seed, same text');
  const others = [await text(8), await text(9), await text(10)];
  assert.ok(others.some(t => t !== a), 'other seeds give other texts');
  const comp = async () => (await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 24, temperature: 0.9, seed: 7 })).choices[0].text;
  assert.equal(await comp(), await comp());
});

test('an aborted stream frees the server', async () => {
  const controller = new AbortController();
  const stream = await streamClient.chat.completions.create(
    { model: MODEL, messages: USER, max_tokens: 900, temperature: 0.9, logit_bias: EOS_BIAS, stream: true },
    { signal: controller.signal });
  let received = 0;
  // The client ends the loop quietly on an abort (or throws APIUserAbortError).
  try {
    for await (const chunk of stream) {
      received++;
      if (received === 1) controller.abort();
      assert.ok(received < 100, 'the stream stops after the abort');
    }
  } catch (err) {
    if (!(err instanceof OpenAI.APIUserAbortError || err.name === 'AbortError')) throw err;
  }
  assert.ok(received >= 1);

  const r = await client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 4, temperature: 0 });
  assert.equal(r.choices.length, 1);

  let gauges;
  const deadline = Date.now() + 10_000;
  for (;;) {
    gauges = await runningGauges();
    assert.ok(Object.keys(gauges).length > 0, '/metrics has a gauge of running requests');
    if (Object.values(gauges).every(v => v === 0)) break;
    assert.ok(Date.now() < deadline, `requests still running: ${JSON.stringify(gauges)}`);
    await new Promise(res => setTimeout(res, 100));
  }
});

test('health, tokenize and detokenize', async () => {
  const health = await direct('/health');
  assert.equal(health.status, 200, health.text);
  const tok = await postDirect('/tokenize', { content: PROMPT, add_special: false });
  assert.equal(tok.status, 200, tok.text);
  assert.ok(Array.isArray(tok.json.tokens) && tok.json.tokens.length > 0 && tok.json.tokens.every(Number.isInteger));
  const withBos = await postDirect('/tokenize', { content: PROMPT });
  assert.deepEqual(withBos.json.tokens, [0, ...tok.json.tokens], 'add_special (default) adds <|begin_of_text|>');
  const detok = await postDirect('/detokenize', { tokens: tok.json.tokens });
  assert.equal(detok.status, 200, detok.text);
  assert.equal(detok.json.content, PROMPT);
  // The same ids as a completion prompt give the same continuation as the text.
  const a = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 6, temperature: 0 });
  const b = await client.completions.create({ model: MODEL, prompt: withBos.json.tokens, max_tokens: 6, temperature: 0 });
  assert.equal(b.choices[0].text, a.choices[0].text);
});

function checkEnvelope(err, status) {
  assert.equal(err.status, status, `${err.status}: ${err.message}`);
  assert.deepEqual(violations('ErrorResponse', { error: err.error }), [], `the error breaks the API description: ${JSON.stringify(err.error)}`);
  assert.ok(err.error && typeof err.error.message === 'string' && err.error.message.length > 0, 'error.message');
  assert.equal(typeof err.error.type, 'string');
  assert.ok('param' in err.error && 'code' in err.error, 'error.param and error.code present (null or a string)');
}

async function rejectsWith(promise, Type, status, check = () => {}) {
  await assert.rejects(promise, err => {
    assert.ok(err instanceof Type, `expected ${Type.name}, got ${err.constructor.name}: ${err.message}`);
    checkEnvelope(err, status);
    check(err);
    return true;
  });
}

const namesField = field => err => assert.ok(err.param === field || err.message.includes(field), `the error names "${field}": ${JSON.stringify(err.error)}`);

test('invalid requests give BadRequestError naming the field', directOnly, async () => {
  const chat = body => client.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 4, ...body });
  const cases = [
    [{ temperature: 5 }, 'temperature'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ max_tokens: -1 }, 'max_tokens'],
    [{ n: 0 }, 'n'],
    [{ top_logprobs: 50, logprobs: true }, 'top_logprobs'],
    [{ no_such_field: 1 }, 'no_such_field'],
    [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }, 'tools'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'wizard', content: 'hi' }] }, 'role'],
  ];
  for (const [body, field] of cases)
    await rejectsWith(chat(body), OpenAI.BadRequestError, 400, err => {
      namesField(field)(err);
      assert.equal(err.type, 'invalid_request_error');
    });
  await rejectsWith(client.completions.create({ model: MODEL, prompt: PROMPT, echo: true }), OpenAI.BadRequestError, 400, namesField('echo'));
  await rejectsWith(client.completions.create({ model: MODEL, prompt: PROMPT, logprobs: 50 }), OpenAI.BadRequestError, 400, namesField('logprobs'));

  const bad = await postDirect('/v1/chat/completions', '{"model": "x", "messages": [');
  assert.equal(bad.status, 400, bad.text);
  assert.equal(typeof bad.json?.error?.message, 'string', 'malformed JSON gives the envelope');
});

test('unknown model gives NotFoundError', directOnly, async () => {
  await rejectsWith(client.chat.completions.create({ model: 'nope', messages: USER, max_tokens: 4 }), OpenAI.NotFoundError, 404,
                    err => assert.equal(err.code, 'model_not_found'));
  await rejectsWith(client.completions.create({ model: 'nope', prompt: PROMPT, max_tokens: 4 }), OpenAI.NotFoundError, 404,
                    err => assert.equal(err.code, 'model_not_found'));
});

test('a wrong or missing key gives AuthenticationError', { skip: VIA_PRISM ? 'direct only' : !process.env.CPPLM_API_KEY && 'server runs without --api-key' }, async () => {
  const wrong = new OpenAI({ baseURL: BASE_URL, apiKey: 'wrong-key', maxRetries: 0 });
  await rejectsWith(wrong.chat.completions.create({ model: MODEL, messages: USER, max_tokens: 4 }), OpenAI.AuthenticationError, 401);
  await rejectsWith(wrong.models.list(), OpenAI.AuthenticationError, 401);
  const none = await postDirect('/v1/completions', { model: MODEL, prompt: PROMPT, max_tokens: 2 }, { authorization: '' });
  assert.equal(none.status, 401, none.text);
  assert.equal(typeof none.json?.error?.message, 'string');
});

// The answer is checked against the description's TooManyRequests response (the ErrorResponse
// envelope, Retry-After an integer >= 1) here, so this runs directly only.
test('a full queue gives RateLimitError with Retry-After', { skip: VIA_PRISM ? 'direct only' : !LIMITED_BASE_URL && 'CPPLM_LIMITED_BASE_URL not set' }, async () => {
  const limited = new OpenAI({ baseURL: LIMITED_BASE_URL, apiKey: API_KEY, maxRetries: 0, timeout: 60_000 });
  // One runs, one waits, the rest are refused: slow requests (200 tokens, end-of-text banned) at once.
  const slow = () => limited.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 200, temperature: 0.9, logit_bias: EOS_BIAS });
  const results = await Promise.allSettled(Array.from({ length: 8 }, slow));
  const ok = results.filter(r => r.status === 'fulfilled');
  const refused = results.filter(r => r.status === 'rejected');
  assert.ok(ok.length >= 1 && ok.length <= 7, `${ok.length} of 8 answered`);
  assert.ok(refused.length >= 1, 'some requests are refused');
  for (const { value } of ok) assert.equal(value.usage.completion_tokens, 200);
  for (const { reason } of refused) {
    assert.ok(reason instanceof OpenAI.RateLimitError, `expected RateLimitError, got ${reason.constructor.name}: ${reason.message}`);
    checkEnvelope(reason, 429);
    const retry = reason.headers.get('retry-after');
    assert.ok(/^[1-9][0-9]*$/.test(retry ?? ''), `Retry-After: ${retry}`);
  }
  // Once the queue has drained the server answers again.
  const after = await limited.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 2 });
  assert.equal(after.choices.length, 1);
});
