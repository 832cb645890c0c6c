ALTER TABLE "conversation_taxonomies" ADD COLUMN "classifiers" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "text_features" text[] DEFAULT '{}' NOT NULL;