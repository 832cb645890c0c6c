import { bigint, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Request counters for rate limits, shared by every API process: one row per key (`key:<id>`,
 * `user:<id>`, `ip:<address>`) holding the hits of its current fixed window. Rows of past windows
 * are overwritten by the next hit and swept periodically.
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  /** Start of the current window, in milliseconds since the epoch. */
  windowStart: bigint('window_start', { mode: 'number' }).notNull(),
  hits: integer('hits').notNull(),
});
export type RateLimitRow = typeof rateLimits.$inferSelect;
export type NewRateLimitRow = typeof rateLimits.$inferInsert;

/**
 * Failed sign-ins per account (`account:<email>`) and per address (`ip:<address>`): after the
 * free attempts each failure doubles the wait before the next attempt is even checked.
 */
export const loginThrottles = pgTable('login_throttles', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  blockedUntil: timestamp('blocked_until', { withTimezone: true, mode: 'date' }).notNull(),
  lastFailureAt: timestamp('last_failure_at', { withTimezone: true, mode: 'date' }).notNull(),
});
export type LoginThrottleRow = typeof loginThrottles.$inferSelect;
export type NewLoginThrottleRow = typeof loginThrottles.$inferInsert;
