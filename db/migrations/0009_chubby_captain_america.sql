CREATE TYPE "public"."conversation_status" AS ENUM('OPEN', 'PENDING', 'RESOLVED');--> statement-breakpoint
CREATE TYPE "public"."message_role" AS ENUM('USER', 'AGENT', 'BOT', 'SYSTEM');--> statement-breakpoint
CREATE TYPE "public"."sentiment_label" AS ENUM('POSITIVE', 'NEGATIVE', 'NEUTRAL', 'MIXED');--> statement-breakpoint
CREATE TABLE "conversation_ingest_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"created_by" uuid,
	"api_key_id" uuid,
	"records" jsonb NOT NULL,
	"skip_invalid" boolean DEFAULT false NOT NULL,
	"skipped" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"status" "run_status" DEFAULT 'QUEUED' NOT NULL,
	"error" text,
	"step" integer DEFAULT 0 NOT NULL,
	"total_steps" integer,
	"phase" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"worker" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "conversation_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"role" "message_role" NOT NULL,
	"author" text,
	"text" text NOT NULL,
	"masked_text" text NOT NULL,
	"sent_at" timestamp with time zone NOT NULL,
	"language" text,
	"sentiment_score" double precision,
	"sentiment_label" "sentiment_label",
	"translations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversation_policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"principal_kind" "principal_kind" NOT NULL,
	"principal_role" "role",
	"principal_user_id" uuid,
	"principal_api_key_id" uuid,
	"inboxes" text[],
	"personal_data" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversation_taxonomies" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"topics" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"external_id" text NOT NULL,
	"channel" text NOT NULL,
	"inbox" text NOT NULL,
	"customer_ref" text,
	"customer_attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"status" "conversation_status" DEFAULT 'OPEN' NOT NULL,
	"language" text,
	"topics" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"intent" text,
	"sentiment_score" double precision,
	"sentiment_label" "sentiment_label",
	"first_response_seconds" double precision,
	"resolution_seconds" double precision,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversation_ingest_runs" ADD CONSTRAINT "conversation_ingest_runs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_ingest_runs" ADD CONSTRAINT "conversation_ingest_runs_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_ingest_runs" ADD CONSTRAINT "conversation_ingest_runs_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_messages" ADD CONSTRAINT "conversation_messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_policies" ADD CONSTRAINT "conversation_policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_policies" ADD CONSTRAINT "conversation_policies_principal_user_id_users_id_fk" FOREIGN KEY ("principal_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_policies" ADD CONSTRAINT "conversation_policies_principal_api_key_id_api_keys_id_fk" FOREIGN KEY ("principal_api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_taxonomies" ADD CONSTRAINT "conversation_taxonomies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversation_ingest_runs_org_idx" ON "conversation_ingest_runs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "conversation_ingest_runs_created_by_idx" ON "conversation_ingest_runs" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "conversation_ingest_runs_api_key_idx" ON "conversation_ingest_runs" USING btree ("api_key_id");--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_messages_position_idx" ON "conversation_messages" USING btree ("conversation_id","position");--> statement-breakpoint
CREATE INDEX "conversation_messages_search_idx" ON "conversation_messages" USING gin (to_tsvector('simple', "masked_text"));--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_policies_role_idx" ON "conversation_policies" USING btree ("org_id","principal_role") WHERE principal_kind = 'ROLE';--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_policies_user_idx" ON "conversation_policies" USING btree ("org_id","principal_user_id") WHERE principal_kind = 'USER';--> statement-breakpoint
CREATE UNIQUE INDEX "conversation_policies_api_key_idx" ON "conversation_policies" USING btree ("org_id","principal_api_key_id") WHERE principal_kind = 'API_KEY';--> statement-breakpoint
CREATE INDEX "conversation_policies_user_fk_idx" ON "conversation_policies" USING btree ("principal_user_id");--> statement-breakpoint
CREATE INDEX "conversation_policies_api_key_fk_idx" ON "conversation_policies" USING btree ("principal_api_key_id");--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_org_external_idx" ON "conversations" USING btree ("org_id","external_id");--> statement-breakpoint
CREATE INDEX "conversations_org_started_idx" ON "conversations" USING btree ("org_id","started_at");--> statement-breakpoint
CREATE INDEX "conversations_org_inbox_idx" ON "conversations" USING btree ("org_id","inbox");