/**
 * Accuracy of the conversation categorizers on the labelled evaluation set
 * (test/fixtures/conversations-eval.ndjson, 307 messages written for it, not used to build the
 * rules nor to train): sentiment accuracy and macro-F1, topic, intent and language accuracy of the
 * rule-based categorizer, and topic and intent accuracy of MODEL — topic and intent classifiers
 * trained, as `trainConversationClassifier` trains them, on generated labelled conversations
 * (seeded; never on the evaluation set).
 * Usage: npm run bench -- conversations-eval   (BENCH_LABELLED=2000 conversations to train on)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  classificationScores,
  type EvalItem,
  evaluate,
  parseEvalSet,
  ruleBasedPrediction,
} from '../src/conversations/evaluate';
import { generateLabelledConversations } from '../src/conversations/labelled';
import { customerText } from '../src/conversations/llm';
import {
  CLASSIFIER_FEATURE,
  type ClassifierLabel,
  labelOf,
  NO_LABEL,
} from '../src/conversations/model';
import { redactPersonalData } from '../src/datasets/pii';
import { type BackendPreference, initBackend } from '../src/models/backend';
import { predict, train } from '../src/models/train';

const FIXTURE = fileURLToPath(
  new URL('../test/fixtures/conversations-eval.ndjson', import.meta.url),
);
const SEED = 42;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Trains one classifier on generated labelled conversations (the rows the mutation writes: the
 * customer text, redacted, and the label or "(none)") with the training runtime's own `train`,
 * and predicts the evaluation messages (redacted, as the categorizer reads them).
 */
async function modelPredictions(
  label: ClassifierLabel,
  count: number,
  items: readonly EvalItem[],
): Promise<{ predictions: Array<string | null>; trainedOn: number; backend: string }> {
  const target = label === 'TOPIC' ? 'topic' : 'intent';
  const rows = generateLabelledConversations(count, SEED, new Date('2026-05-01T00:00:00Z')).flatMap(
    (record) => {
      const value = labelOf(record.metadata, label);
      return value === undefined
        ? []
        : [{ [CLASSIFIER_FEATURE]: customerText(record), [target]: value ?? NO_LABEL }];
    },
  );
  const output = await train(
    {
      features: [{ name: CLASSIFIER_FEATURE, type: 'STRING', text: true }],
      target: { name: target, type: 'CATEGORY' },
      rows,
    },
    { task: 'CLASSIFICATION', algorithm: 'LOGISTIC_REGRESSION', seed: SEED },
  );
  const predicted = await predict(
    output.artifact,
    items.map((item) => ({ [CLASSIFIER_FEATURE]: redactPersonalData(item.text) })),
  );
  return {
    predictions: predicted.map((p) => (p.value === NO_LABEL ? null : String(p.value))),
    trainedOn: rows.length,
    backend: output.backend,
  };
}

export async function benchConversationsEval(): Promise<void> {
  const items = parseEvalSet(readFileSync(FIXTURE, 'utf8'));
  const report = evaluate(items, (text) => ruleBasedPrediction(text));
  console.log(`conversations-eval: rule-based categorizer on ${report.messages} labelled messages`);
  console.log(
    `  sentiment  accuracy ${pct(report.sentiment.accuracy)}  macro-F1 ${report.sentiment.macroF1.toFixed(3)}`,
  );
  for (const c of report.sentiment.classes)
    console.log(
      `    ${c.label.padEnd(9)} precision ${c.precision.toFixed(3)}  recall ${c.recall.toFixed(3)}  F1 ${c.f1.toFixed(3)}  (${c.support})`,
    );
  const english = evaluate(
    items.filter((i) => i.language === 'en'),
    (text) => ruleBasedPrediction(text),
  );
  console.log(
    `  sentiment on the ${english.messages} English messages: accuracy ${pct(english.sentiment.accuracy)}  macro-F1 ${english.sentiment.macroF1.toFixed(3)}`,
  );
  console.log(`  topic      accuracy ${pct(report.topicAccuracy)}`);
  console.log(`  intent     accuracy ${pct(report.intentAccuracy)}`);
  console.log(`  language   accuracy ${pct(report.languageAccuracy)}`);
  for (const [language, l] of Object.entries(report.languages))
    console.log(`    ${language}  ${pct(l.accuracy)}  (${l.messages})`);

  const count = Number(process.env.BENCH_LABELLED ?? 2000);
  await initBackend((process.env.TF_BACKEND as BackendPreference | undefined) ?? 'auto');
  for (const label of ['TOPIC', 'INTENT'] as const) {
    const field = label === 'TOPIC' ? 'topic' : 'intent';
    const model = await modelPredictions(label, count, items);
    const scores = classificationScores(
      items.map((i) => i[field]),
      model.predictions,
    );
    console.log(
      `conversations-eval: MODEL ${field} classifier (logistic regression over hashed text, ${model.trainedOn} generated labelled conversations, seed ${SEED}, ${model.backend}): accuracy ${pct(scores.accuracy)}  macro-F1 ${scores.macroF1.toFixed(3)}`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchConversationsEval();
