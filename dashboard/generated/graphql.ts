/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** How to learn. */
export type Algorithm =
  /** Tries the linear model and an MLP; keeps the better on validation. */
  | 'AUTO'
  /** Linear regression with L2. */
  | 'LINEAR_REGRESSION'
  /** Linear softmax classifier with L2. */
  | 'LOGISTIC_REGRESSION'
  /** Dense neural network (ReLU, dropout). */
  | 'MLP';

/** The rule that flags a value; the README gives each formula. */
export type AnomalyRule =
  /** Modified z-score |0.6745·(x − median) / MAD| > 3.5. */
  | 'MAD'
  /** Outside [Q1 − 1.5·IQR, Q3 + 1.5·IQR]. */
  | 'TUKEY'
  /** |x − mean| / σ > 3 (σ the population standard deviation). */
  | 'ZSCORE';

/** How a viewer sees a column: CLEAR as stored; MASK as "***"; HASH as a keyed HMAC-SHA256 (equal values stay equal, so joins and distinct counts work); PARTIAL as a hint such as "j***@example.com" or "***1234"; HIDE not at all; AGGREGATE_ONLY only inside aggregates. */
export type ColumnRule =
  /** Only inside COUNT, COUNT_DISTINCT, SUM, AVG and STDDEV. */
  | 'AGGREGATE_ONLY'
  /** As stored. */
  | 'CLEAR'
  /** A keyed HMAC-SHA256 of the value: equal values stay equal. */
  | 'HASH'
  /** Not shown at all. */
  | 'HIDE'
  /** Shown as "***". */
  | 'MASK'
  /** A hint: "j***@example.com", "***1234". */
  | 'PARTIAL';

/** Sets the sensitivity of one column instead of the detected one. */
export type ColumnSensitivityOverride = {
  /** Column name as in the file. */
  column: string;
  /** Sensitivity. */
  sensitivity: Sensitivity;
};

/** Storage type of a dataset column. */
export type ColumnType =
  /** true / false. */
  | 'BOOLEAN'
  /** Text with few distinct values (labels, codes). */
  | 'CATEGORY'
  /** Calendar dates, "YYYY-MM-DD". */
  | 'DATE'
  /** Numbers (double precision). */
  | 'FLOAT'
  /** Whole numbers (bigint). */
  | 'INTEGER'
  /** Free text. */
  | 'STRING'
  /** Instants, ISO 8601 in UTC. */
  | 'TIMESTAMP';

/** Forces the type of one column. */
export type ColumnTypeOverride = {
  /** Column name as in the file. */
  column: string;
  /** Type to use. */
  type: ColumnType;
};

/** Length of the periods of a series, in the requested time zone. */
export type ConversationGranularity =
  /** One point per local day. */
  | 'DAY'
  /** One point per local month. */
  | 'MONTH'
  /** One point per local week. */
  | 'WEEK';

/** What to split each period by (TOPIC: the conversation’s best topic). */
export type ConversationGroupBy =
  /** By channel. */
  | 'CHANNEL'
  /** By intent. */
  | 'INTENT'
  /** By language. */
  | 'LANGUAGE'
  /** By sentiment. */
  | 'SENTIMENT'
  /** By topic. */
  | 'TOPIC';

/** How serious a drift alert is. */
export type DriftAlertSeverity =
  /** Dataset-level drift on at least 1,000 rows or three quarters of the columns. */
  | 'HIGH'
  /** Some columns drifted, few of them. */
  | 'LOW'
  /** Dataset-level drift on a small sample, or many columns drifting. */
  | 'MEDIUM';

/** A drift statistic; the README lists each formula and default threshold. */
export type DriftTest =
  /** Chi-square goodness of fit; drift when p < threshold (0.05). */
  | 'chisquare'
  /** Jensen–Shannon distance (natural log); drift when ≥ threshold (0.1). */
  | 'jensenshannon'
  /** Two-sample Kolmogorov–Smirnov; drift when p ≤ threshold (0.05). */
  | 'ks'
  /** Population stability index; drift when ≥ threshold (0.1). */
  | 'psi'
  /** Wasserstein-1 / reference std (floored at 0.001); drift when ≥ threshold (0.1). */
  | 'wasserstein'
  /** Two-proportion z-test; drift when p < threshold (0.05). */
  | 'z';

/** Format of an uploaded file. */
export type FileFormat =
  /** Comma-separated values with a header row (RFC 4180). */
  | 'CSV'
  /** A JSON array of objects. */
  | 'JSON'
  /** One JSON object per line. */
  | 'NDJSON'
  /** Tab-separated values. */
  | 'TSV';

/** Training settings; defaults suit small tabular data. */
export type Hyperparameters = {
  /** Rows per step. */
  batchSize?: number | null | undefined;
  /** MLP dropout. */
  dropout?: number | null | undefined;
  /** Passes over the data. */
  epochs?: number | null | undefined;
  /** MLP layer sizes. */
  hiddenUnits?: Array<number> | null | undefined;
  /** L2 penalty. */
  l2?: number | null | undefined;
  /** Adam learning rate. */
  learningRate?: number | null | undefined;
};

/** Where an upload stands. */
export type IngestionStatus =
  /** The upload failed; nothing was stored. */
  | 'FAILED'
  /** Rows are being loaded. */
  | 'LOADING'
  /** The version is loaded and visible. */
  | 'READY';

/** How a column is described. */
export type InsightsColumnKind =
  /** Text, categories, booleans: top categories. */
  | 'CATEGORICAL'
  /** Numbers: moments, percentiles, histogram. */
  | 'NUMERIC'
  /** Dates and timestamps: earliest and latest. */
  | 'TEMPORAL';

/** Whether the insights of a version are ready. */
export type InsightsStatus =
  /** A large version: a job is computing them; ask again later. */
  | 'COMPUTING'
  /** The job computing them failed. */
  | 'FAILED'
  /** Computed (now, or earlier and read from the cache). */
  | 'READY';

/** What a model predicts. */
export type ModelTask =
  /** A class (category) per row, with probabilities. */
  | 'CLASSIFICATION'
  /** A number per row. */
  | 'REGRESSION';

/** A role in an organization; each includes the rights of those below it. */
export type Role =
  /** Manage members, API keys, policies and datasets. */
  | 'ADMIN'
  /** Query data, train models, save queries. */
  | 'ANALYST'
  /** Everything, including managing owners. */
  | 'OWNER'
  /** Read data the policies allow. */
  | 'VIEWER';

/** Where a run (training, batch prediction) stands. */
export type RunStatus =
  /** Stopped on request. */
  | 'CANCELLED'
  /** Stopped by an error or a lost worker; see `error`. */
  | 'FAILED'
  /** Waiting for a worker. */
  | 'QUEUED'
  /** A worker is running it. */
  | 'RUNNING'
  /** Done; its result (model version, dataset version) exists. */
  | 'SUCCEEDED';

/** How sensitive a column is; the access gate masks PII and SECRET columns. */
export type Sensitivity =
  /** Not sensitive. */
  | 'NONE'
  /** Personal data: masked for roles below ADMIN by default. */
  | 'PII'
  /** Never shown in clear below ADMIN. */
  | 'SECRET';

/** Truncates a DATE or TIMESTAMP column to the start of its day, week or month. */
export type TimeBucket =
  /** Calendar day (UTC). */
  | 'DAY'
  /** Calendar month (UTC). */
  | 'MONTH'
  /** ISO week, starting Monday (UTC). */
  | 'WEEK';

/** Retrain a model (modelId), or create one (name, datasetId, target). Training data is read through the access gate as you. */
export type TrainModelInput = {
  /** Default AUTO. */
  algorithm?: Algorithm | null | undefined;
  /** Dataset of a new model. */
  datasetId?: string | number | null | undefined;
  /** Dataset version number; default the newest. */
  datasetVersion?: number | null | undefined;
  /** Columns to use; default all you may read but the target. */
  features?: Array<string> | null | undefined;
  /** Settings. */
  hyperparameters?: Hyperparameters | null | undefined;
  /** Existing model to retrain. */
  modelId?: string | number | null | undefined;
  /** Name of a new model. */
  name?: string | null | undefined;
  /** Random seed; fixed seeds reproduce runs. */
  seed?: number | null | undefined;
  /** Column to predict (new model). */
  target?: string | null | undefined;
  /** Default: inferred from the target. */
  task?: ModelTask | null | undefined;
  /** Random-search trials per algorithm (default 1). */
  trials?: number | null | undefined;
  /** Held-out share for metrics (default 0.2). */
  validationSplit?: number | null | undefined;
};

/** How the rows of a bucket become one value. */
export type TrendAggregate =
  /** Mean (an empty bucket has no value). */
  | 'AVG'
  /** Rows (no measure needed; an empty bucket is 0). */
  | 'COUNT'
  /** Largest value. */
  | 'MAX'
  /** Median. */
  | 'MEDIAN'
  /** Smallest value. */
  | 'MIN'
  /** Sum (an empty bucket is 0). */
  | 'SUM';

/** A time column, a measure and how to bucket it. */
export type TrendInput = {
  /** Aggregate per bucket. */
  aggregate?: TrendAggregate;
  /** Bucket size. */
  bucket?: TimeBucket;
  /** A numeric column (absent for COUNT). */
  measure?: string | null | undefined;
  /** A DATE or TIMESTAMP column. */
  timeColumn: string;
  /** IANA time zone whose calendar TIMESTAMP columns are bucketed in (default UTC). */
  timeZone?: string | null | undefined;
};

/** How to read an uploaded file. */
export type UploadOptions = {
  /** Field delimiter for CSV (default ",") or TSV (default tab). */
  delimiter?: string | null | undefined;
  /** Default: from the file name, else CSV. */
  format?: FileFormat | null | undefined;
  /** First row names the columns (default true). */
  header?: boolean | null | undefined;
  /** Sensitivities that win over PII detection. */
  sensitivityOverrides?: Array<ColumnSensitivityOverride> | null | undefined;
  /** Types that win over inference. */
  typeOverrides?: Array<ColumnTypeOverride> | null | undefined;
};

/** How the caller signed in. */
export type ViewerKind =
  /** A partner integration, with an API key. */
  | 'API_KEY'
  /** A person, with a token from login or signUp. */
  | 'USER';

export type DashboardLoginMutationVariables = Exact<{
  email: string;
  password: string;
}>;


export type DashboardLoginMutation = { login:
    | { __typename: 'AuthPayload', token: string, expiresAt: string }
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type DashboardViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardViewerQuery = { viewer: { id: string, kind: ViewerKind, role: Role, user: { name: string, email: string } | null, apiKey: { name: string, prefix: string } | null, organization: { name: string } } };

export type DashboardColumnFragment = { name: string, type: ColumnType, sensitivity: Sensitivity, access: ColumnRule, piiKind: string | null } & { ' $fragmentName'?: 'DashboardColumnFragment' };

export type DashboardDatasetsQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardDatasetsQuery = { datasets: { edges: Array<{ node: { id: string, name: string, description: string, tags: Array<string>, updatedAt: string, currentVersion: { id: string, number: number, rowCount: number | null, columns: Array<{ ' $fragmentRefs'?: { 'DashboardColumnFragment': DashboardColumnFragment } }> } | null } }> } };

type DashboardResult_InputError_Fragment = { __typename: 'InputError', code: string, message: string } & { ' $fragmentName'?: 'DashboardResult_InputError_Fragment' };

type DashboardResult_NotFoundError_Fragment = { __typename: 'NotFoundError', code: string, message: string } & { ' $fragmentName'?: 'DashboardResult_NotFoundError_Fragment' };

type DashboardResult_QueryResult_Fragment = { __typename: 'QueryResult', totalCount: number, rows: Array<Record<string, unknown>>, columns: Array<{ name: string, type: ColumnType, masked: boolean, rule: ColumnRule | null }> } & { ' $fragmentName'?: 'DashboardResult_QueryResult_Fragment' };

export type DashboardResultFragment =
  | DashboardResult_InputError_Fragment
  | DashboardResult_NotFoundError_Fragment
  | DashboardResult_QueryResult_Fragment
;

export type DashboardRowsQueryVariables = Exact<{
  datasetId: string | number;
  first?: number | null | undefined;
}>;


export type DashboardRowsQuery = { datasetQuery:
    | { ' $fragmentRefs'?: { 'DashboardResult_InputError_Fragment': DashboardResult_InputError_Fragment } }
    | { ' $fragmentRefs'?: { 'DashboardResult_NotFoundError_Fragment': DashboardResult_NotFoundError_Fragment } }
    | { ' $fragmentRefs'?: { 'DashboardResult_QueryResult_Fragment': DashboardResult_QueryResult_Fragment } }
   };

export type DashboardRunFragment = { id: string, status: RunStatus, algorithm: string | null, candidate: string | null, step: number, totalSteps: number | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, error: string | null, backend: string | null, device: string | null } & { ' $fragmentName'?: 'DashboardRunFragment' };

export type DashboardModelsQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardModelsQuery = { models: { edges: Array<{ node: { id: string, name: string, task: ModelTask, target: string, features: Array<string>, dataset: { id: string, name: string }, runs: Array<{ ' $fragmentRefs'?: { 'DashboardRunFragment': DashboardRunFragment } }> } }> } };

export type DashboardRunSeriesQueryVariables = Exact<{
  id: string | number;
  max?: number | null | undefined;
}>;


export type DashboardRunSeriesQuery = { trainingRun: (
    { series: Array<{ name: string, total: number, points: Array<{ step: number, min: number, max: number, last: number }> }> }
    & { ' $fragmentRefs'?: { 'DashboardRunFragment': DashboardRunFragment } }
  ) | null };

export type DashboardTrainMutationVariables = Exact<{
  input: TrainModelInput;
}>;


export type DashboardTrainMutation = { trainModel:
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
    | (
      { __typename: 'TrainingRun', model: { id: string } }
      & { ' $fragmentRefs'?: { 'DashboardRunFragment': DashboardRunFragment } }
    )
   };

export type DashboardCancelRunMutationVariables = Exact<{
  id: string | number;
}>;


export type DashboardCancelRunMutation = { cancelTrainingRun:
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
    | { __typename: 'TrainingRun' }
   };

export type DashboardTrainingProgressSubscriptionVariables = Exact<{
  runId: string | number;
}>;


export type DashboardTrainingProgressSubscription = { trainingProgress: { runId: string, kind: string, status: RunStatus, step: number | null, totalSteps: number | null, candidate: string | null, loss: number | null, valLoss: number | null, metrics: unknown, etaSeconds: number | null, error: string | null, at: string } };

export type DashboardAlertFragment = { id: string, severity: DriftAlertSeverity, columns: Array<string>, message: string, createdAt: string, acknowledgedAt: string | null, acknowledgedBy: { name: string } | null, monitor: { id: string, name: string, dataset: { id: string, name: string } }, report: { id: string } } & { ' $fragmentName'?: 'DashboardAlertFragment' };

export type DashboardDriftAlertsQueryVariables = Exact<{
  open?: boolean | null | undefined;
}>;


export type DashboardDriftAlertsQuery = { driftAlerts: Array<{ ' $fragmentRefs'?: { 'DashboardAlertFragment': DashboardAlertFragment } }> };

export type DashboardDriftAlertFeedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type DashboardDriftAlertFeedSubscription = { driftAlerts: { ' $fragmentRefs'?: { 'DashboardAlertFragment': DashboardAlertFragment } } };

export type DashboardAcknowledgeMutationVariables = Exact<{
  id: string | number;
}>;


export type DashboardAcknowledgeMutation = { acknowledgeDriftAlert:
    | (
      { __typename: 'DriftAlert' }
      & { ' $fragmentRefs'?: { 'DashboardAlertFragment': DashboardAlertFragment } }
    )
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type DashboardDriftReportQueryVariables = Exact<{
  id: string | number;
}>;


export type DashboardDriftReportQuery = { node:
    | { id: string, status: RunStatus, drifted: boolean | null, share: number | null, error: string | null, referenceVersion: { number: number }, currentVersion: { number: number }, columns: Array<{ column: string, kind: string, test: DriftTest, statistic: number | null, pValue: number | null, pValueIsBound: boolean, threshold: number, drifted: boolean, bins: { edges: Array<number> | null, labels: Array<string> | null, reference: Array<number>, current: Array<number> } | null }> }
    | Record<PropertyKey, never>
   | null };

export type DashboardUploadUrlMutationVariables = Exact<{
  datasetId: string | number;
  filename: string;
  options?: UploadOptions | null | undefined;
}>;


export type DashboardUploadUrlMutation = { createUploadUrl:
    | { __typename: 'ConflictError', code: string, message: string }
    | { __typename: 'DatasetInputError', code: string, message: string }
    | { __typename: 'InputError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
    | { __typename: 'UploadUrl', url: string, method: string, versionId: string }
   };

export type DashboardIngestionSubscriptionVariables = Exact<{
  versionId?: string | number | null | undefined;
  datasetId?: string | number | null | undefined;
}>;


export type DashboardIngestionSubscription = { datasetIngestion: { datasetId: string, versionId: string, status: IngestionStatus, bytes: number | null, totalBytes: number | null, rows: number | null, percent: number | null, rowsPerSecond: number | null, error: string | null } };

export type DashboardConversationAnalyticsQueryVariables = Exact<{
  from: string;
  to: string;
  granularity: ConversationGranularity;
  groupBy?: ConversationGroupBy | null | undefined;
  timezone?: string | null | undefined;
}>;


export type DashboardConversationAnalyticsQuery = { conversationAnalytics:
    | { __typename: 'ConversationAnalytics', series: Array<{ period: string, group: string | null, volume: number, averageSentiment: number | null, sentiment: Array<{ label: string, count: number }> }>, summary: { volume: number, averageSentiment: number | null, sentiment: Array<{ label: string, count: number }> } }
    | { __typename: 'InputError', code: string, message: string }
   };

export type DashboardInsightsQueryVariables = Exact<{
  datasetId: string | number;
}>;


export type DashboardInsightsQuery = { datasetInsights: { status: InsightsStatus, rows: number | null, computedAt: string | null, progress: { status: RunStatus, phase: string | null, step: number, totalSteps: number | null, error: string | null } | null, narrative: { text: string, source: string } | null, columns: Array<{ name: string, kind: InsightsColumnKind, type: string, count: number, nulls: number, distinct: number, mean: number | null, median: number | null, std: number | null, min: number | null, max: number | null, histogram: Array<{ lower: number, upper: number, count: number }>, topCategories: Array<{ value: string, count: number, share: number }> }> | null, correlations: { columns: Array<string>, pearson: Array<Array<number | null>>, spearman: Array<Array<number | null>> } | null, anomalies: Array<{ column: string, rule: AnomalyRule, count: number, lower: number, upper: number }> | null, seasonalAnomalies: Array<{ time: string, measure: string, unit: string, period: number, anomalies: Array<{ bucket: string, value: number, trend: number, score: number }> }> | null } };

export type DashboardTrendQueryVariables = Exact<{
  datasetId: string | number;
  input: TrendInput;
}>;


export type DashboardTrendQuery = { datasetInsights: { trend:
      | { __typename: 'ColumnNotReadableError', code: string, message: string }
      | { __typename: 'InputError', code: string, message: string }
      | { __typename: 'NotFoundError', code: string, message: string }
      | { __typename: 'Trend', timeColumn: string, measure: string | null, series: Array<{ label: string, value: number | null }>, changepoints:
          | { starts: Array<string> }
          | Record<PropertyKey, never>
         }
     } };

export const DashboardColumnFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardColumn"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Column"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"sensitivity"}},{"kind":"Field","name":{"kind":"Name","value":"access"}},{"kind":"Field","name":{"kind":"Name","value":"piiKind"}}]}}]} as unknown as DocumentNode<DashboardColumnFragment, unknown>;
export const DashboardResultFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardResult"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueryDatasetQueryResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueryResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"columns"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"masked"}},{"kind":"Field","name":{"kind":"Name","value":"rule"}}]}},{"kind":"Field","name":{"kind":"Name","value":"rows"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<DashboardResultFragment, unknown>;
export const DashboardRunFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRun"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TrainingRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"algorithm"}},{"kind":"Field","name":{"kind":"Name","value":"candidate"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"backend"}},{"kind":"Field","name":{"kind":"Name","value":"device"}}]}}]} as unknown as DocumentNode<DashboardRunFragment, unknown>;
export const DashboardAlertFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardAlert"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftAlert"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"columns"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"monitor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dataset"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardAlertFragment, unknown>;
export const DashboardLoginDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardLogin"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"email"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"login"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"email"},"value":{"kind":"Variable","name":{"kind":"Name","value":"email"}}},{"kind":"ObjectField","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AuthPayload"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardLoginMutation, DashboardLoginMutationVariables>;
export const DashboardViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardViewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"email"}}]}},{"kind":"Field","name":{"kind":"Name","value":"apiKey"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"prefix"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organization"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardViewerQuery, DashboardViewerQueryVariables>;
export const DashboardDatasetsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardDatasets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasets"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"tags"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"currentVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"rowCount"}},{"kind":"Field","name":{"kind":"Name","value":"columns"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardColumn"}}]}}]}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardColumn"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Column"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"sensitivity"}},{"kind":"Field","name":{"kind":"Name","value":"access"}},{"kind":"Field","name":{"kind":"Name","value":"piiKind"}}]}}]} as unknown as DocumentNode<DashboardDatasetsQuery, DashboardDatasetsQueryVariables>;
export const DashboardRowsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardRows"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasetQuery"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"datasetId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[]}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardResult"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardResult"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueryDatasetQueryResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueryResult"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"columns"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"masked"}},{"kind":"Field","name":{"kind":"Name","value":"rule"}}]}},{"kind":"Field","name":{"kind":"Name","value":"rows"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<DashboardRowsQuery, DashboardRowsQueryVariables>;
export const DashboardModelsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardModels"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"models"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"100"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"task"}},{"kind":"Field","name":{"kind":"Name","value":"target"}},{"kind":"Field","name":{"kind":"Name","value":"features"}},{"kind":"Field","name":{"kind":"Name","value":"dataset"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"runs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardRun"}}]}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRun"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TrainingRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"algorithm"}},{"kind":"Field","name":{"kind":"Name","value":"candidate"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"backend"}},{"kind":"Field","name":{"kind":"Name","value":"device"}}]}}]} as unknown as DocumentNode<DashboardModelsQuery, DashboardModelsQueryVariables>;
export const DashboardRunSeriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardRunSeries"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"max"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trainingRun"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardRun"}},{"kind":"Field","name":{"kind":"Name","value":"series"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"max"},"value":{"kind":"Variable","name":{"kind":"Name","value":"max"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"points"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"min"}},{"kind":"Field","name":{"kind":"Name","value":"max"}},{"kind":"Field","name":{"kind":"Name","value":"last"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRun"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TrainingRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"algorithm"}},{"kind":"Field","name":{"kind":"Name","value":"candidate"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"backend"}},{"kind":"Field","name":{"kind":"Name","value":"device"}}]}}]} as unknown as DocumentNode<DashboardRunSeriesQuery, DashboardRunSeriesQueryVariables>;
export const DashboardTrainDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardTrain"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"TrainModelInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trainModel"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TrainingRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardRun"}},{"kind":"Field","name":{"kind":"Name","value":"model"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardRun"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TrainingRun"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"algorithm"}},{"kind":"Field","name":{"kind":"Name","value":"candidate"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"backend"}},{"kind":"Field","name":{"kind":"Name","value":"device"}}]}}]} as unknown as DocumentNode<DashboardTrainMutation, DashboardTrainMutationVariables>;
export const DashboardCancelRunDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardCancelRun"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelTrainingRun"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardCancelRunMutation, DashboardCancelRunMutationVariables>;
export const DashboardTrainingProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardTrainingProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"runId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trainingProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"runId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"candidate"}},{"kind":"Field","name":{"kind":"Name","value":"loss"}},{"kind":"Field","name":{"kind":"Name","value":"valLoss"}},{"kind":"Field","name":{"kind":"Name","value":"metrics"}},{"kind":"Field","name":{"kind":"Name","value":"etaSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]}}]} as unknown as DocumentNode<DashboardTrainingProgressSubscription, DashboardTrainingProgressSubscriptionVariables>;
export const DashboardDriftAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardDriftAlerts"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"open"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"driftAlerts"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"open"},"value":{"kind":"Variable","name":{"kind":"Name","value":"open"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardAlert"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardAlert"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftAlert"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"columns"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"monitor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dataset"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardDriftAlertsQuery, DashboardDriftAlertsQueryVariables>;
export const DashboardDriftAlertFeedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardDriftAlertFeed"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"driftAlerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardAlert"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardAlert"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftAlert"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"columns"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"monitor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dataset"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardDriftAlertFeedSubscription, DashboardDriftAlertFeedSubscriptionVariables>;
export const DashboardAcknowledgeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardAcknowledge"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"acknowledgeDriftAlert"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftAlert"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"DashboardAlert"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"DashboardAlert"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftAlert"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"severity"}},{"kind":"Field","name":{"kind":"Name","value":"columns"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"monitor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"dataset"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"report"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DashboardAcknowledgeMutation, DashboardAcknowledgeMutationVariables>;
export const DashboardDriftReportDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardDriftReport"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"DriftReport"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"drifted"}},{"kind":"Field","name":{"kind":"Name","value":"share"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"referenceVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"number"}}]}},{"kind":"Field","name":{"kind":"Name","value":"currentVersion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"number"}}]}},{"kind":"Field","name":{"kind":"Name","value":"columns"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"column"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"test"}},{"kind":"Field","name":{"kind":"Name","value":"statistic"}},{"kind":"Field","name":{"kind":"Name","value":"pValue"}},{"kind":"Field","name":{"kind":"Name","value":"pValueIsBound"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"drifted"}},{"kind":"Field","name":{"kind":"Name","value":"bins"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"}},{"kind":"Field","name":{"kind":"Name","value":"labels"}},{"kind":"Field","name":{"kind":"Name","value":"reference"}},{"kind":"Field","name":{"kind":"Name","value":"current"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<DashboardDriftReportQuery, DashboardDriftReportQueryVariables>;
export const DashboardUploadUrlDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DashboardUploadUrl"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filename"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"options"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UploadOptions"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createUploadUrl"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"datasetId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}}},{"kind":"Argument","name":{"kind":"Name","value":"filename"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filename"}}},{"kind":"Argument","name":{"kind":"Name","value":"options"},"value":{"kind":"Variable","name":{"kind":"Name","value":"options"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UploadUrl"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"method"}},{"kind":"Field","name":{"kind":"Name","value":"versionId"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardUploadUrlMutation, DashboardUploadUrlMutationVariables>;
export const DashboardIngestionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"DashboardIngestion"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"versionId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasetIngestion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"versionId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"versionId"}}},{"kind":"Argument","name":{"kind":"Name","value":"datasetId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasetId"}},{"kind":"Field","name":{"kind":"Name","value":"versionId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}},{"kind":"Field","name":{"kind":"Name","value":"totalBytes"}},{"kind":"Field","name":{"kind":"Name","value":"rows"}},{"kind":"Field","name":{"kind":"Name","value":"percent"}},{"kind":"Field","name":{"kind":"Name","value":"rowsPerSecond"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]} as unknown as DocumentNode<DashboardIngestionSubscription, DashboardIngestionSubscriptionVariables>;
export const DashboardConversationAnalyticsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardConversationAnalytics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"to"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"granularity"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ConversationGranularity"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"groupBy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ConversationGroupBy"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"timezone"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversationAnalytics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"to"}}},{"kind":"Argument","name":{"kind":"Name","value":"granularity"},"value":{"kind":"Variable","name":{"kind":"Name","value":"granularity"}}},{"kind":"Argument","name":{"kind":"Name","value":"groupBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"groupBy"}}},{"kind":"Argument","name":{"kind":"Name","value":"timezone"},"value":{"kind":"Variable","name":{"kind":"Name","value":"timezone"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ConversationAnalytics"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"series"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"group"}},{"kind":"Field","name":{"kind":"Name","value":"volume"}},{"kind":"Field","name":{"kind":"Name","value":"averageSentiment"}},{"kind":"Field","name":{"kind":"Name","value":"sentiment"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"summary"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"volume"}},{"kind":"Field","name":{"kind":"Name","value":"averageSentiment"}},{"kind":"Field","name":{"kind":"Name","value":"sentiment"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardConversationAnalyticsQuery, DashboardConversationAnalyticsQueryVariables>;
export const DashboardInsightsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardInsights"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasetInsights"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"datasetId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"rows"}},{"kind":"Field","name":{"kind":"Name","value":"computedAt"}},{"kind":"Field","name":{"kind":"Name","value":"progress"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"phase"}},{"kind":"Field","name":{"kind":"Name","value":"step"}},{"kind":"Field","name":{"kind":"Name","value":"totalSteps"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}},{"kind":"Field","name":{"kind":"Name","value":"narrative"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"source"}}]}},{"kind":"Field","name":{"kind":"Name","value":"columns"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"nulls"}},{"kind":"Field","name":{"kind":"Name","value":"distinct"}},{"kind":"Field","name":{"kind":"Name","value":"mean"}},{"kind":"Field","name":{"kind":"Name","value":"median"}},{"kind":"Field","name":{"kind":"Name","value":"std"}},{"kind":"Field","name":{"kind":"Name","value":"min"}},{"kind":"Field","name":{"kind":"Name","value":"max"}},{"kind":"Field","name":{"kind":"Name","value":"histogram"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"lower"}},{"kind":"Field","name":{"kind":"Name","value":"upper"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}},{"kind":"Field","name":{"kind":"Name","value":"topCategories"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"share"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"correlations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"columns"}},{"kind":"Field","name":{"kind":"Name","value":"pearson"}},{"kind":"Field","name":{"kind":"Name","value":"spearman"}}]}},{"kind":"Field","name":{"kind":"Name","value":"anomalies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"column"}},{"kind":"Field","name":{"kind":"Name","value":"rule"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"lower"}},{"kind":"Field","name":{"kind":"Name","value":"upper"}}]}},{"kind":"Field","name":{"kind":"Name","value":"seasonalAnomalies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"time"}},{"kind":"Field","name":{"kind":"Name","value":"measure"}},{"kind":"Field","name":{"kind":"Name","value":"unit"}},{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"anomalies"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"trend"}},{"kind":"Field","name":{"kind":"Name","value":"score"}}]}}]}}]}}]}}]} as unknown as DocumentNode<DashboardInsightsQuery, DashboardInsightsQueryVariables>;
export const DashboardTrendDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DashboardTrend"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"TrendInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"datasetInsights"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"datasetId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"datasetId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"trend"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Trend"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"timeColumn"}},{"kind":"Field","name":{"kind":"Name","value":"measure"}},{"kind":"Field","name":{"kind":"Name","value":"series"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"changepoints"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Changepoints"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"starts"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Error"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]}}]} as unknown as DocumentNode<DashboardTrendQuery, DashboardTrendQueryVariables>;