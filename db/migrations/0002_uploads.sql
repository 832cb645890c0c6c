CREATE TYPE "public"."upload_status" AS ENUM('PENDING', 'LOADING', 'READY', 'FAILED');--> statement-breakpoint
CREATE TABLE "dataset_uploads" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"membership_id" uuid,
	"api_key_id" uuid,
	"filename" text NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" "upload_status" DEFAULT 'PENDING' NOT NULL,
	"error" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dataset_uploads" ADD CONSTRAINT "dataset_uploads_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_uploads" ADD CONSTRAINT "dataset_uploads_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_uploads" ADD CONSTRAINT "dataset_uploads_membership_id_memberships_id_fk" FOREIGN KEY ("membership_id") REFERENCES "public"."memberships"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_uploads" ADD CONSTRAINT "dataset_uploads_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dataset_uploads_dataset_idx" ON "dataset_uploads" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "dataset_uploads_org_idx" ON "dataset_uploads" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "dataset_uploads_membership_idx" ON "dataset_uploads" USING btree ("membership_id");--> statement-breakpoint
CREATE INDEX "dataset_uploads_api_key_idx" ON "dataset_uploads" USING btree ("api_key_id");