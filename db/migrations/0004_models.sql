CREATE TYPE "public"."run_status" AS ENUM('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."model_task" AS ENUM('CLASSIFICATION', 'REGRESSION');--> statement-breakpoint
CREATE TABLE "model_alias_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"alias" text NOT NULL,
	"version_id" uuid,
	"changed_by" uuid,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_aliases" (
	"model_id" uuid NOT NULL,
	"alias" text NOT NULL,
	"version_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_aliases_model_id_alias_pk" PRIMARY KEY("model_id","alias")
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"dataset_version_id" uuid,
	"metrics" jsonb NOT NULL,
	"artifact" jsonb NOT NULL,
	"artifact_size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"name" text NOT NULL,
	"task" "model_task" NOT NULL,
	"target" text NOT NULL,
	"features" text[] NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"dataset_version_id" uuid NOT NULL,
	"status" "run_status" DEFAULT 'QUEUED' NOT NULL,
	"config" jsonb NOT NULL,
	"seed" integer NOT NULL,
	"membership_id" uuid,
	"api_key_id" uuid,
	"algorithm" text,
	"backend" text,
	"device" text,
	"worker" text,
	"epochs_done" integer DEFAULT 0 NOT NULL,
	"total_epochs" integer,
	"history" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metrics" jsonb,
	"error" text,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"model_version_id" uuid
);
--> statement-breakpoint
ALTER TABLE "model_alias_events" ADD CONSTRAINT "model_alias_events_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_events" ADD CONSTRAINT "model_alias_events_changed_by_users_id_fk" FOREIGN KEY ("changed_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_version_id_model_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."model_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_dataset_version_id_dataset_versions_id_fk" FOREIGN KEY ("dataset_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_dataset_version_id_dataset_versions_id_fk" FOREIGN KEY ("dataset_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_runs" ADD CONSTRAINT "training_runs_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "model_alias_events_model_idx" ON "model_alias_events" USING btree ("model_id","alias","at");--> statement-breakpoint
CREATE INDEX "model_alias_events_changed_by_idx" ON "model_alias_events" USING btree ("changed_by");--> statement-breakpoint
CREATE INDEX "model_aliases_version_idx" ON "model_aliases" USING btree ("version_id");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_model_number_idx" ON "model_versions" USING btree ("model_id","number");--> statement-breakpoint
CREATE INDEX "model_versions_dataset_version_idx" ON "model_versions" USING btree ("dataset_version_id");--> statement-breakpoint
CREATE UNIQUE INDEX "models_org_name_idx" ON "models" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "models_dataset_idx" ON "models" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "models_created_by_idx" ON "models" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "training_runs_org_idx" ON "training_runs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "training_runs_model_idx" ON "training_runs" USING btree ("model_id");--> statement-breakpoint
CREATE INDEX "training_runs_dataset_version_idx" ON "training_runs" USING btree ("dataset_version_id");--> statement-breakpoint
CREATE INDEX "training_runs_status_idx" ON "training_runs" USING btree ("status","heartbeat_at");--> statement-breakpoint
CREATE INDEX "training_runs_membership_idx" ON "training_runs" USING btree ("membership_id");--> statement-breakpoint
CREATE INDEX "training_runs_api_key_idx" ON "training_runs" USING btree ("api_key_id");