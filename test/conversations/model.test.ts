import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classificationScores } from '../../src/conversations/evaluate';
import { generateLabelledConversations } from '../../src/conversations/labelled';
import {
  inviteMember,
  signUpOwner,
  startTestServer,
  subscribe,
  type TestServer,
} from '../helpers/server';

let server: TestServer;
let owner: Awaited<ReturnType<typeof signUpOwner>>;
let other: Awaited<ReturnType<typeof signUpOwner>>;
let analyst: Awaited<ReturnType<typeof inviteMember>>;
let salesAdmin: Awaited<ReturnType<typeof inviteMember>>;
const models: Record<string, string> = {};

const END = new Date('2026-05-01T00:00:00Z');
const TRAIN = `mutation($label: ConversationClassifierLabel!, $seed: Int, $name: String) {
  trainConversationClassifier(label: $label, seed: $seed, name: $name) {
    __typename ... on TrainingRun { id status model { id name } } ... on Error { code message } } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { status error backend metrics { accuracy } modelVersion { id } } }`;
const SET = `mutation($c: ConversationCategorizer, $t: ConversationClassifierInput, $i: ConversationClassifierInput, $x: JSONObject! = { billing: { invoice: 3 } }) {
  setConversationTaxonomy(taxonomy: $x, categorizer: $c, topicModel: $t, intentModel: $i) {
    __typename ... on ConversationTaxonomy { categorizer topicModel { model { name } alias } intentModel { model { name } } }
    ... on Error { code message } } }`;
const LIST = `query($offset: Int) { conversations(first: 100, offset: $offset) { ... on ConversationList {
  totalCount nodes { id externalId intent topics { topic } } } } }`;

async function ingest(token: string, records: object[]): Promise<void> {
  const res = await server.upload(
    `mutation($file: File!) { ingestConversations(file: $file, format: NDJSON) {
      __typename ... on ConversationIngest { id } ... on Error { code message } } }`,
    {},
    { name: 'r.ndjson', content: records.map((r) => JSON.stringify(r)).join('\n') },
    token,
  );
  const id = res.data?.ingestConversations.id;
  expect(id, JSON.stringify(res)).toBeTruthy();
  for (;;) {
    const run = await server.gql(
      `query($id: ID!) { conversationIngest(id: $id) { ... on ConversationIngest { status error } } }`,
      { id },
      token,
    );
    const { status, error } = run.data!.conversationIngest;
    if (status === 'SUCCEEDED') return;
    if (status === 'FAILED') throw new Error(error);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitFor<T>(read: () => Promise<T | null>, what: string): Promise<T> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const value = await read();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const waitForRun = (id: string) =>
  waitFor(async () => {
    const run = (await server.gql(RUN, { id }, owner.token)).data?.trainingRun;
    return run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : null;
  }, `run ${id}`);

/** Every conversation of the caller's organization by external id. */
async function categorized(token: string) {
  const out = new Map<string, { topic: string | null; intent: string | null }>();
  for (let offset = 0; ; offset += 100) {
    const res = await server.gql(LIST, { offset }, token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const list = res.data!.conversations;
    for (const n of list.nodes)
      out.set(n.externalId, { topic: n.topics[0]?.topic ?? null, intent: n.intent });
    if (offset + 100 >= list.totalCount) return out;
  }
}

// A labelled training set, and a test split of the same generator whose openings never occur in
// the training set (the classifier is scored on text it has not seen). Labels are stripped from
// the test records: they are the answer key, kept here.
const training = generateLabelledConversations(700, 1, END);
const seen = new Set(training.map((r) => opening(r)));
function opening(r: { messages: Array<{ text: string }> }) {
  return r.messages[0]!.text.replace(/ [A-Z][a-z]+ [A-Z][a-z]+$/, '');
}
const testSplit = generateLabelledConversations(600, 2, END)
  .filter((r) => !seen.has(opening(r)))
  .map((r) => ({ ...r, externalId: `test-${r.externalId}` }));
const answers = new Map(
  testSplit.map((r) => [
    r.externalId,
    (r.metadata as { labels: Record<string, string | null> }).labels,
  ]),
);

beforeAll(async () => {
  server = await startTestServer({ PESO_WORKERS: '1' });
  owner = await signUpOwner(server, 'classifier');
  other = await signUpOwner(server, 'classifier-other');
  analyst = await inviteMember(server, owner.token, 'ANALYST');
  salesAdmin = await inviteMember(server, owner.token, 'ADMIN');
  const policy = await server.gql(
    `mutation($input: ConversationPolicyInput!) { setConversationPolicy(input: $input) { __typename } }`,
    { input: { principalKind: 'USER', userId: salesAdmin.userId, inboxes: ['sales'] } },
    owner.token,
  );
  expect(policy.data!.setConversationPolicy.__typename).toBe('ConversationPolicy');
  await ingest(owner.token, training);
  await ingest(owner.token, [
    ...testSplit.map(({ metadata: _labels, ...r }) => r),
    {
      externalId: 'live-1',
      channel: 'chat',
      inbox: 'support',
      messages: [{ role: 'USER', text: 'Hello, anyone there', sentAt: '2026-05-01T08:00:00Z' }],
    },
  ]);
}, 240_000);

afterAll(async () => {
  await server?.close();
});

describe('the MODEL categorizer', () => {
  it('is refused without a trained classifier, naming what is missing', async () => {
    const res = await server.gql(SET, { c: 'MODEL' }, owner.token);
    expect(res.data!.setConversationTaxonomy).toMatchObject({
      __typename: 'InputError',
      code: 'BAD_USER_INPUT',
    });
    expect(res.data!.setConversationTaxonomy.message).toMatch(
      /needs a trained classifier: train one with trainConversationClassifier/,
    );
  });

  it('refuses a lower role, and another org or a restricted admin trains on none of these conversations', async () => {
    const low = await server.gql(TRAIN, { label: 'TOPIC' }, analyst.token);
    expect(low.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    for (const name of ['x'.repeat(201), '   ']) {
      const bad = await server.gql(TRAIN, { label: 'TOPIC', name }, owner.token);
      expect(bad.errors?.[0]?.extensions, JSON.stringify(bad)).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'name',
      });
    }
    for (const token of [other.token, salesAdmin.token]) {
      const res = await server.gql(TRAIN, { label: 'TOPIC' }, token);
      expect(res.data!.trainConversationClassifier).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(res.data!.trainConversationClassifier.message).toMatch(/that you can read; found 0\./);
    }
  });

  it('trains topic and intent classifiers as training runs with live progress', async () => {
    for (const label of ['TOPIC', 'INTENT']) {
      const res = await server.gql(TRAIN, { label, seed: 7 }, owner.token);
      const run = res.data?.trainConversationClassifier;
      expect(run, JSON.stringify(res)).toMatchObject({
        __typename: 'TrainingRun',
        status: 'QUEUED',
      });
      const sub = subscribe(
        server.ws(owner.token),
        `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`,
        {
          id: run.id,
        },
      );
      await sub.done;
      expect(sub.errors).toEqual([]);
      const events = sub.events.map((e) => e.data?.trainingProgress);
      expect(events.some((e) => e.kind === 'EPOCH')).toBe(true);
      const final = await waitForRun(run.id);
      expect(final, JSON.stringify(final)).toMatchObject({ status: 'SUCCEEDED' });
      expect(run.model.name).toBe(`conversation-${label.toLowerCase()}`);
      models[label] = run.model.id;
    }
  }, 480_000);

  it("keeps the training set's conversation text from roles below ADMIN", async () => {
    const model = await server.gql(
      `query($id: ID!) { model(id: $id) { ... on Model { dataset { id name } } } }`,
      { id: models.TOPIC },
      owner.token,
    );
    const dataset = model.data!.model.dataset;
    expect(dataset.name).toBe('conversation-topic-labels');
    const ROWS = `query($id: ID!) { datasetQuery(datasetId: $id, input: {}, first: 5) {
      __typename ... on QueryResult { rows } ... on Error { code } } }`;
    const clear = (await server.gql(ROWS, { id: dataset.id }, owner.token)).data!.datasetQuery;
    const masked = (await server.gql(ROWS, { id: dataset.id }, analyst.token)).data!.datasetQuery;
    expect(clear.rows.length).toBe(5);
    expect(masked.rows.map((r: { topic: string }) => r.topic)).toEqual(
      clear.rows.map((r: { topic: string }) => r.topic),
    );
    for (const [i, row] of masked.rows.entries()) expect(row.text).not.toBe(clear.rows[i].text);
    // Personal data never reaches the training set: it holds the redacted text.
    expect(clear.rows.some((r: { text: string }) => /Maria Lopez|John Carter/.test(r.text))).toBe(
      false,
    );
  });

  it("refuses a model that is not a conversation classifier of that label, and another org's model", async () => {
    const swapped = await server.gql(
      SET,
      { c: 'MODEL', t: { modelId: models.INTENT } },
      owner.token,
    );
    expect(swapped.data!.setConversationTaxonomy).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(swapped.data!.setConversationTaxonomy.message).toMatch(/not a topic classifier/);
    const alias = await server.gql(
      SET,
      { c: 'MODEL', t: { modelId: models.TOPIC, alias: 'production' } },
      owner.token,
    );
    expect(alias.data!.setConversationTaxonomy.message).toMatch(
      /no version with the alias "production"/,
    );
    const foreign = await server.gql(
      SET,
      { c: 'MODEL', t: { modelId: models.TOPIC } },
      other.token,
    );
    expect(foreign.data!.setConversationTaxonomy).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('beats the rules on topic and on intent accuracy on the held-out split', async () => {
    const ids = [...answers.keys()];
    const gold = (field: 'topic' | 'intent') => ids.map((id) => answers.get(id)![field] ?? null);
    const rules = await categorized(owner.token);
    const set = await server.gql(
      SET,
      { c: 'MODEL', t: { modelId: models.TOPIC }, i: { modelId: models.INTENT } },
      owner.token,
    );
    expect(set.errors, JSON.stringify(set.errors)).toBeUndefined();
    expect(set.data!.setConversationTaxonomy).toMatchObject({
      categorizer: 'MODEL',
      topicModel: { model: { name: 'conversation-topic' }, alias: null },
      intentModel: { model: { name: 'conversation-intent' } },
    });
    const started = await server.gql(
      `mutation { recategorizeConversations { id } }`,
      {},
      owner.token,
    );
    const runId = started.data!.recategorizeConversations.id;
    await waitFor(async () => {
      const run = await server.gql(
        `query($id: ID!) { conversationRecategorize(id: $id) { ... on ConversationRecategorize { status error } } }`,
        { id: runId },
        owner.token,
      );
      const { status, error } = run.data!.conversationRecategorize;
      if (status === 'FAILED') throw new Error(error);
      return status === 'SUCCEEDED' ? status : null;
    }, 're-categorization');
    const model = await categorized(owner.token);
    const score = (source: typeof rules, field: 'topic' | 'intent') =>
      classificationScores(
        gold(field),
        ids.map((id) => source.get(id)![field]),
      ).accuracy;
    const result = {
      rules: { topic: score(rules, 'topic'), intent: score(rules, 'intent') },
      model: { topic: score(model, 'topic'), intent: score(model, 'intent') },
    };
    expect(ids.length).toBeGreaterThan(100);
    expect(result.model.topic, JSON.stringify(result)).toBeGreaterThan(result.rules.topic);
    expect(result.model.intent, JSON.stringify(result)).toBeGreaterThan(result.rules.intent);
  }, 240_000);

  it('categorizes a live message with the classifiers', async () => {
    const nodes = [] as Array<{ id: string; externalId: string }>;
    for (let offset = 0; ; offset += 100) {
      const page = (await server.gql(LIST, { offset }, owner.token)).data!.conversations;
      nodes.push(...page.nodes);
      if (offset + 100 >= page.totalCount) break;
    }
    const target = nodes.find((n) => n.externalId === 'live-1')!;
    const res = await server.gql(
      `mutation($input: AddMessageInput!) { addMessage(input: $input) {
        __typename ... on AddMessagePayload { conversation { intent topics { topic } } } ... on Error { code message } } }`,
      {
        input: {
          conversationId: target.id,
          role: 'USER',
          text: 'Ich komme nicht in mein Konto rein.',
        },
      },
      analyst.token,
    );
    expect(res.data!.addMessage, JSON.stringify(res)).toMatchObject({
      __typename: 'AddMessagePayload',
      conversation: { intent: 'ACCOUNT_ACCESS', topics: [{ topic: 'account' }] },
    });
  });
});
