CREATE TABLE "prediction_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"source_version_id" uuid NOT NULL,
	"dataset_id" uuid,
	"version_id" uuid NOT NULL,
	"membership_id" uuid,
	"api_key_id" uuid,
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
	"heartbeat_at" timestamp with time zone,
	CONSTRAINT "prediction_runs_version_id_unique" UNIQUE("version_id")
);
--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "step" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "total_steps" integer;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "phase" text;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_source_version_id_dataset_versions_id_fk" FOREIGN KEY ("source_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction_runs" ADD CONSTRAINT "prediction_runs_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "prediction_runs_org_idx" ON "prediction_runs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "prediction_runs_model_version_idx" ON "prediction_runs" USING btree ("model_version_id");--> statement-breakpoint
CREATE INDEX "prediction_runs_source_version_idx" ON "prediction_runs" USING btree ("source_version_id");--> statement-breakpoint
CREATE INDEX "prediction_runs_dataset_idx" ON "prediction_runs" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "prediction_runs_status_idx" ON "prediction_runs" USING btree ("status","heartbeat_at");--> statement-breakpoint
CREATE INDEX "prediction_runs_membership_idx" ON "prediction_runs" USING btree ("membership_id");--> statement-breakpoint
CREATE INDEX "prediction_runs_api_key_idx" ON "prediction_runs" USING btree ("api_key_id");