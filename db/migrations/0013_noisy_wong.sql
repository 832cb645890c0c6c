CREATE TABLE "dataset_semantics" (
	"dataset_id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"mapping" jsonb NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dataset_semantics" ADD CONSTRAINT "dataset_semantics_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_semantics" ADD CONSTRAINT "dataset_semantics_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_semantics" ADD CONSTRAINT "dataset_semantics_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dataset_semantics_org_idx" ON "dataset_semantics" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "dataset_semantics_updated_by_idx" ON "dataset_semantics" USING btree ("updated_by");