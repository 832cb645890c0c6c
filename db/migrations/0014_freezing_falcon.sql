ALTER TABLE "training_runs" ADD COLUMN "adapter" jsonb;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "backend_reason" text;