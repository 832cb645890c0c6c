/**
 * Accuracy of the rule-based conversation categorizer on the labelled evaluation set
 * (test/fixtures/conversations-eval.ndjson, 307 messages written for it, not used to build the
 * rules): sentiment accuracy and macro-F1, topic, intent and language accuracy.
 * Usage: npm run bench -- conversations-eval
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { evaluate, parseEvalSet, ruleBasedPrediction } from '../src/conversations/evaluate';

const FIXTURE = fileURLToPath(
  new URL('../test/fixtures/conversations-eval.ndjson', import.meta.url),
);

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

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
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchConversationsEval();
