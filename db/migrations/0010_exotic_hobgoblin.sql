CREATE TYPE "public"."drift_alert_severity" AS ENUM('LOW', 'MEDIUM', 'HIGH');--> statement-breakpoint
CREATE TABLE "drift_alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"monitor_id" uuid NOT NULL,
	"report_id" uuid NOT NULL,
	"severity" "drift_alert_severity" NOT NULL,
	"columns" text[] NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" uuid
);
--> statement-breakpoint
CREATE TABLE "drift_monitors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"model_id" uuid,
	"dataset_id" uuid NOT NULL,
	"reference_version_id" uuid NOT NULL,
	"columns" jsonb,
	"drift_share" double precision DEFAULT 0.5 NOT NULL,
	"check_on_new_version" boolean DEFAULT false NOT NULL,
	"schedule" text,
	"membership_id" uuid,
	"api_key_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "drift_profiles" (
	"version_id" uuid NOT NULL,
	"key" text NOT NULL,
	"profile" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "drift_profiles_version_id_key_pk" PRIMARY KEY("version_id","key")
);
--> statement-breakpoint
CREATE TABLE "drift_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"monitor_id" uuid NOT NULL,
	"reference_version_id" uuid NOT NULL,
	"current_version_id" uuid NOT NULL,
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
	"drifted" boolean,
	"share" double precision,
	"columns" jsonb
);
--> statement-breakpoint
ALTER TABLE "drift_alerts" ADD CONSTRAINT "drift_alerts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_alerts" ADD CONSTRAINT "drift_alerts_monitor_id_drift_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."drift_monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_alerts" ADD CONSTRAINT "drift_alerts_report_id_drift_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."drift_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_alerts" ADD CONSTRAINT "drift_alerts_acknowledged_by_users_id_fk" FOREIGN KEY ("acknowledged_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_reference_version_id_dataset_versions_id_fk" FOREIGN KEY ("reference_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_monitors" ADD CONSTRAINT "drift_monitors_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_profiles" ADD CONSTRAINT "drift_profiles_version_id_dataset_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_monitor_id_drift_monitors_id_fk" FOREIGN KEY ("monitor_id") REFERENCES "public"."drift_monitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_reference_version_id_dataset_versions_id_fk" FOREIGN KEY ("reference_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_current_version_id_dataset_versions_id_fk" FOREIGN KEY ("current_version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "drift_alerts_org_idx" ON "drift_alerts" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "drift_alerts_monitor_idx" ON "drift_alerts" USING btree ("monitor_id");--> statement-breakpoint
CREATE INDEX "drift_alerts_report_idx" ON "drift_alerts" USING btree ("report_id");--> statement-breakpoint
CREATE INDEX "drift_alerts_acknowledged_by_idx" ON "drift_alerts" USING btree ("acknowledged_by");--> statement-breakpoint
CREATE INDEX "drift_monitors_org_idx" ON "drift_monitors" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "drift_monitors_model_idx" ON "drift_monitors" USING btree ("model_id");--> statement-breakpoint
CREATE INDEX "drift_monitors_dataset_idx" ON "drift_monitors" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "drift_monitors_reference_idx" ON "drift_monitors" USING btree ("reference_version_id");--> statement-breakpoint
CREATE INDEX "drift_monitors_membership_idx" ON "drift_monitors" USING btree ("membership_id");--> statement-breakpoint
CREATE INDEX "drift_monitors_api_key_idx" ON "drift_monitors" USING btree ("api_key_id");--> statement-breakpoint
CREATE INDEX "drift_reports_org_idx" ON "drift_reports" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "drift_reports_monitor_idx" ON "drift_reports" USING btree ("monitor_id");--> statement-breakpoint
CREATE INDEX "drift_reports_reference_idx" ON "drift_reports" USING btree ("reference_version_id");--> statement-breakpoint
CREATE INDEX "drift_reports_current_idx" ON "drift_reports" USING btree ("current_version_id");