ALTER TABLE "drift_monitors" ADD COLUMN "retrain_on_drift" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD COLUMN "promotion_alias" text DEFAULT 'production' NOT NULL;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD COLUMN "promotion_margin" double precision DEFAULT 0.01 NOT NULL;--> statement-breakpoint
ALTER TABLE "model_alias_events" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "trigger" jsonb;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "promotion" jsonb;