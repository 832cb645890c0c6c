CREATE TYPE "public"."dataset_access" AS ENUM('ROWS', 'AGGREGATE_ONLY');--> statement-breakpoint
CREATE TYPE "public"."principal_kind" AS ENUM('ROLE', 'USER', 'API_KEY');--> statement-breakpoint
CREATE TYPE "public"."query_visibility" AS ENUM('ORG', 'PRIVATE');--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"viewer_kind" text NOT NULL,
	"user_id" uuid,
	"api_key_id" uuid,
	"dataset_id" uuid,
	"version_id" uuid,
	"columns_read" text[] DEFAULT '{}' NOT NULL,
	"columns_masked" text[] DEFAULT '{}' NOT NULL,
	"filter" jsonb,
	"row_count" integer,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "dataset_policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"principal_kind" "principal_kind" NOT NULL,
	"principal_role" "role",
	"principal_user_id" uuid,
	"principal_api_key_id" uuid,
	"access" "dataset_access" DEFAULT 'ROWS' NOT NULL,
	"row_filter" jsonb,
	"column_rules" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"min_group_size" integer DEFAULT 5 NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "llm_cache" (
	"prompt_hash" text PRIMARY KEY NOT NULL,
	"model" text NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "query_history" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"user_id" uuid,
	"api_key_id" uuid,
	"dataset_id" uuid,
	"version_id" uuid,
	"kind" text NOT NULL,
	"query" jsonb NOT NULL,
	"row_count" integer NOT NULL,
	"ms" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "saved_queries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"owner_id" uuid,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"query" jsonb NOT NULL,
	"parameters" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"visibility" "query_visibility" DEFAULT 'ORG' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD CONSTRAINT "dataset_policies_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD CONSTRAINT "dataset_policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD CONSTRAINT "dataset_policies_principal_user_id_users_id_fk" FOREIGN KEY ("principal_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD CONSTRAINT "dataset_policies_principal_api_key_id_api_keys_id_fk" FOREIGN KEY ("principal_api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD CONSTRAINT "dataset_policies_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "query_history" ADD CONSTRAINT "query_history_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "query_history" ADD CONSTRAINT "query_history_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "query_history" ADD CONSTRAINT "query_history_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "query_history" ADD CONSTRAINT "query_history_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "saved_queries" ADD CONSTRAINT "saved_queries_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "saved_queries" ADD CONSTRAINT "saved_queries_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "saved_queries" ADD CONSTRAINT "saved_queries_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_org_id_idx" ON "audit_events" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "audit_events_dataset_idx" ON "audit_events" USING btree ("dataset_id");--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_policies_role_idx" ON "dataset_policies" USING btree ("dataset_id","principal_role") WHERE principal_kind = 'ROLE';--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_policies_user_unique_idx" ON "dataset_policies" USING btree ("dataset_id","principal_user_id") WHERE principal_kind = 'USER';--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_policies_api_key_unique_idx" ON "dataset_policies" USING btree ("dataset_id","principal_api_key_id") WHERE principal_kind = 'API_KEY';--> statement-breakpoint
CREATE INDEX "dataset_policies_org_idx" ON "dataset_policies" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "dataset_policies_user_idx" ON "dataset_policies" USING btree ("principal_user_id");--> statement-breakpoint
CREATE INDEX "dataset_policies_api_key_idx" ON "dataset_policies" USING btree ("principal_api_key_id");--> statement-breakpoint
CREATE INDEX "dataset_policies_created_by_idx" ON "dataset_policies" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "query_history_user_idx" ON "query_history" USING btree ("user_id","at");--> statement-breakpoint
CREATE INDEX "query_history_api_key_idx" ON "query_history" USING btree ("api_key_id");--> statement-breakpoint
CREATE INDEX "query_history_org_idx" ON "query_history" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "query_history_dataset_idx" ON "query_history" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "saved_queries_org_idx" ON "saved_queries" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "saved_queries_dataset_idx" ON "saved_queries" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "saved_queries_owner_idx" ON "saved_queries" USING btree ("owner_id");--> statement-breakpoint
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_events_no_change" BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();--> statement-breakpoint
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();
