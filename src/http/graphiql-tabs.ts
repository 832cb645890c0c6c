/**
 * The example operations GraphiQL opens with, one tab each. `test/examples/graphiql.test.ts` runs
 * every one of them against the demo data, with the demo credentials and ids in place of the
 * `<…>` placeholders.
 */
export interface GraphiQLTab {
  /** What the tab shows, for logs and tests. */
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** The header every tab but the first carries: a placeholder until a credential is pasted. */
export const AUTHORIZATION_PLACEHOLDER = 'Bearer <token or API key>';

const authorized = { Authorization: AUTHORIZATION_PLACEHOLDER };

export const GRAPHIQL_TABS: GraphiQLTab[] = [
  {
    name: 'sign in',
    query: `# Welcome to Peso. Each tab holds an example; run one with ▶ (or Ctrl-Enter).
#
# 1. Sign in: put your password in the variables below and run Login. On its first start
#    \`npm start\` printed the demo owner's email, a password and an API key (shown once).
# 2. Copy the token it answers (or use the API key) into the Headers tab of every other tab:
#      {"Authorization": "Bearer <token or API key>"}
#    Without it, Peso answers UNAUTHENTICATED. A token lasts PESO_JWT_TTL_SECONDS (12 h);
#    an API key until it is revoked, and sees only datasets a policy names.
# 3. Re-fetch the schema (⟳ in the Docs pane) once the header is set: only signed-in callers
#    may introspect, so completion and docs need the credential too.
# 4. Run Me (with the header) to check who you are.

mutation Login($input: LoginInput!) {
  login(input: $input) {
    ... on AuthPayload {
      token
      expiresAt
    }
    ... on Error {
      code
      message
    }
  }
}

query Me {
  viewer {
    id
    kind
    role
    user {
      name
      email
    }
    organization {
      name
    }
  }
}
`,
    variables: { input: { email: 'owner@demo.peso.local', password: '<printed password>' } },
    headers: {},
  },
  {
    name: 'datasets',
    query: `# The datasets you may read, with their latest version and its columns as you see them
# (Column.access: CLEAR, MASK, HASH, PARTIAL, AGGREGATE_ONLY). Copy an id for the other tabs.
query Datasets {
  datasets(first: 50) {
    edges {
      node {
        id
        name
        description
        currentVersion {
          number
          rowCount
          columns {
            name
            type
            sensitivity
            access
          }
        }
      }
    }
  }
}
`,
    headers: authorized,
  },
  {
    name: 'grouped aggregate',
    query: `# A grouped aggregate: rainy days per month of seattle-weather, with their average and
# highest maximum temperature. Put the id of seattle-weather (Datasets tab) in the variables.
query RainyMonths($datasetId: ID!) {
  datasetQuery(
    datasetId: $datasetId
    input: {
      where: { column: "precipitation", gt: 0 }
      groupBy: [{ column: "date", timeBucket: MONTH, as: "month" }]
      aggregates: [
        { function: COUNT, as: "rainyDays" }
        { function: AVG, column: "temp_max", as: "avgTempMax" }
        { function: MAX, column: "temp_max", as: "maxTempMax" }
      ]
      orderBy: [{ column: "month" }]
    }
    first: 12
  ) {
    ... on QueryResult {
      columns {
        name
        type
        masked
      }
      rows
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
    }
    ... on Error {
      code
      message
    }
  }
}
`,
    variables: { datasetId: '<seattle-weather id>' },
    headers: authorized,
  },
  {
    name: 'start training',
    query: `# Trains a classifier of penguin species on the penguins dataset (ANALYST and up). The run
# is queued on the job runtime; follow it in the next tab with the id this answers. A name
# already taken is CONFLICT: retrain that model with modelId instead of name.
mutation TrainSpecies($datasetId: ID!) {
  trainModel(
    input: {
      name: "penguins-from-graphiql"
      datasetId: $datasetId
      target: "Species"
      features: ["Island", "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", "Sex"]
      seed: 42
    }
  ) {
    ... on TrainingRun {
      id
      status
      model {
        id
        name
      }
    }
    ... on Error {
      code
      message
    }
  }
}
`,
    variables: { datasetId: '<penguins id>' },
    headers: authorized,
  },
  {
    name: 'follow progress',
    query: `# A run's current state, then one event per epoch and every status change (over SSE here;
# graphql-ws on the same URL sends the credential in connection_init instead of a header).
subscription TrainingProgress($runId: ID!) {
  trainingProgress(runId: $runId) {
    kind
    status
    epoch
    totalEpochs
    loss
    samplesPerSecond
    etaSeconds
    error
  }
}
`,
    variables: { runId: '<run id>' },
    headers: authorized,
  },
  {
    name: 'insights',
    query: `# Insights of a dataset's latest version, computed through the access gate as you:
# per-column statistics and histograms, correlations, anomalies and a narrative. The first
# request starts the computation (status and progress); run it again once it is READY.
query Insights($datasetId: ID!) {
  datasetInsights(datasetId: $datasetId) {
    status
    rows
    progress {
      step
      totalSteps
      phase
    }
    columns {
      name
      kind
      count
      nulls
      distinct
      mean
      median
      std
      histogram {
        lower
        upper
        count
      }
      topCategories {
        value
        share
      }
    }
    correlations {
      columns
      pearson
    }
    anomalies {
      column
      rule
      count
    }
    narrative {
      text
    }
  }
}
`,
    variables: { datasetId: '<cars id>' },
    headers: authorized,
  },
  {
    name: 'drift alerts',
    query: `# Drift alerts not yet acknowledged (npm start leaves one on stocks), then new ones as they
# come: run DriftAlertFeed and upload a new version of a watched dataset.
query OpenDriftAlerts {
  driftAlerts(open: true) {
    id
    severity
    columns
    message
    createdAt
    monitor {
      id
      name
    }
  }
}

subscription DriftAlertFeed {
  driftAlerts {
    id
    severity
    columns
    message
  }
}
`,
    headers: authorized,
  },
];
