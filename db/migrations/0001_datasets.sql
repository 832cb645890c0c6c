CREATE TYPE "public"."column_type" AS ENUM('INTEGER', 'FLOAT', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'STRING', 'CATEGORY');--> statement-breakpoint
CREATE TYPE "public"."sensitivity" AS ENUM('NONE', 'PII', 'SECRET');--> statement-breakpoint
CREATE TABLE "dataset_columns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"version_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"type" "column_type" NOT NULL,
	"nullable" boolean NOT NULL,
	"sensitivity" "sensitivity" NOT NULL,
	"pii_kind" text,
	"distinct_estimate" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dataset_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"row_count" bigint NOT NULL,
	"byte_size" bigint NOT NULL,
	"checksum" text NOT NULL,
	"source" text NOT NULL,
	"table_name" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dataset_versions_table_name_unique" UNIQUE("table_name")
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"tags" text[] DEFAULT '{}' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dataset_columns" ADD CONSTRAINT "dataset_columns_version_id_dataset_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."dataset_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_columns_version_position_idx" ON "dataset_columns" USING btree ("version_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_versions_dataset_number_idx" ON "dataset_versions" USING btree ("dataset_id","number");--> statement-breakpoint
CREATE INDEX "dataset_versions_created_by_idx" ON "dataset_versions" USING btree ("created_by");--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_org_name_idx" ON "datasets" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "datasets_created_by_idx" ON "datasets" USING btree ("created_by");