CREATE TABLE "access_epoch" (
	"id" integer PRIMARY KEY NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "insights_cache" (
	"version_id" uuid NOT NULL,
	"fingerprint" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "insights_cache_version_id_fingerprint_pk" PRIMARY KEY("version_id","fingerprint")
);
--> statement-breakpoint
CREATE TABLE "insights_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"version_id" uuid NOT NULL,
	"fingerprint" text NOT NULL,
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
	"heartbeat_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "insights_cache" ADD CONSTRAINT "insights_cache_version_id_dataset_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "insights_runs" ADD CONSTRAINT "insights_runs_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "insights_runs" ADD CONSTRAINT "insights_runs_version_id_dataset_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "insights_runs" ADD CONSTRAINT "insights_runs_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "insights_runs" ADD CONSTRAINT "insights_runs_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "insights_runs_dataset_idx" ON "insights_runs" USING btree ("dataset_id");--> statement-breakpoint
CREATE UNIQUE INDEX "insights_runs_version_fingerprint_idx" ON "insights_runs" USING btree ("version_id","fingerprint");--> statement-breakpoint
CREATE INDEX "insights_runs_membership_idx" ON "insights_runs" USING btree ("membership_id");--> statement-breakpoint
CREATE INDEX "insights_runs_api_key_idx" ON "insights_runs" USING btree ("api_key_id");