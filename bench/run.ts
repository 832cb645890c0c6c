/**
 * Runs the benchmarks named on the command line (default: all) and prints, for each, the ratio of
 * Peso's path to a hand-written baseline run in the same process.
 * Usage: npm run bench [-- viewer|ingest|query|read|fanout|predict|rest|train|train-latency|conversations|conversations-eval]   (BENCH_DATABASE_URL=postgres://… to use PostgreSQL)
 */
import { benchConversations } from './conversations';
import { benchConversationsEval } from './conversations-eval';
import { benchDashboard } from './dashboard';
import { benchDrift } from './drift';
import { benchFanout } from './fanout';
import { benchIngest } from './ingest';
import { benchInsights } from './insights';
import { benchLoad } from './load';
import { benchPredict } from './predict';
import { benchQuery } from './query';
import { benchRead } from './read';
import { benchRest } from './rest';
import { benchTrainBackends } from './train';
import { benchTrainLatency } from './train-latency';
import { benchUploadLatency } from './upload-latency';
import { benchViewer } from './viewer';

const benches: Record<string, () => Promise<void>> = {
  viewer: benchViewer,
  ingest: benchIngest,
  query: benchQuery,
  read: benchRead,
  drift: benchDrift,
  load: benchLoad,
  dashboard: benchDashboard,
  insights: benchInsights,
  fanout: benchFanout,
  predict: benchPredict,
  rest: benchRest,
  train: benchTrainBackends,
  'train-latency': benchTrainLatency,
  conversations: benchConversations,
  'conversations-eval': benchConversationsEval,
  'upload-latency': benchUploadLatency,
};
const selected = process.argv.slice(2).filter((a) => a !== '--');
for (const name of selected.length ? selected : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark: ${name} (have: ${Object.keys(benches).join(', ')})`);
    process.exit(1);
  }
  await bench();
}
