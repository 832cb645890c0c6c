/**
 * Errors a caller is meant to read. Each carries a stable `code` that reaches clients as
 * `extensions.code` (or as a typed error object where a field declares it); any other thrown
 * error is a bug and is masked.
 */
export abstract class PesoError extends Error {
  abstract readonly code: string;
}

/** The thing does not exist for this caller — including when it exists in another org. */
export class NotFoundError extends PesoError {
  readonly code = 'NOT_FOUND';
  constructor(readonly entity: string) {
    super(`${entity} not found.`);
  }
}

/** An input value was wrong; `field` names which one. */
export class InputError extends PesoError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** The request conflicts with existing state (a taken email, the last owner, …). */
export class ConflictError extends PesoError {
  readonly code = 'CONFLICT';
}

export class UnauthenticatedError extends PesoError {
  readonly code = 'UNAUTHENTICATED';
}

export class ForbiddenError extends PesoError {
  readonly code = 'FORBIDDEN';
}

/** A dataset query ran past the statement timeout of the caller's role. */
export class QueryTimeoutError extends PesoError {
  readonly code = 'QUERY_TIMEOUT';
}

/** Too many requests or failed sign-ins; `retryAfter` is in whole seconds. */
export class RateLimitedError extends PesoError {
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfter: number) {
    super(`Too many requests: retry in ${retryAfter} s.`);
  }
}

/** The caller's differential-privacy budget on a dataset is spent for the current period. */
export class PrivacyBudgetExhaustedError extends PesoError {
  readonly code = 'PRIVACY_BUDGET_EXHAUSTED';
}

/** The database cannot be reached (an outage or a restart): the caller may try again shortly. */
export class ServiceUnavailableError extends PesoError {
  readonly code = 'SERVICE_UNAVAILABLE';
  /** Seconds a caller is told to wait before trying again. */
  readonly retryAfter = 5;
  constructor() {
    super('The database is unavailable; try again shortly.');
  }
}
