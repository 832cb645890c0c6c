ALTER TABLE "conversation_policies" ADD COLUMN "row_filter" jsonb;--> statement-breakpoint
ALTER TABLE "conversation_taxonomies" ADD COLUMN "categorizer" text DEFAULT 'RULES' NOT NULL;