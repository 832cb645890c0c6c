-- Rate-limit counters and sign-in throttles are short-lived and need no crash safety: unlogged
-- tables skip the WAL, so counting a request costs no disk flush at commit.
ALTER TABLE "rate_limits" SET UNLOGGED;--> statement-breakpoint
ALTER TABLE "login_throttles" SET UNLOGGED;
