CREATE TABLE "privacy_budgets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"user_id" uuid,
	"api_key_id" uuid,
	"period_start" timestamp with time zone NOT NULL,
	"spent" numeric NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "privacy_budgets_one_credential" CHECK ((user_id is null) <> (api_key_id is null))
);
--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "differential_privacy" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "epsilon" double precision DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "delta" double precision DEFAULT 0.00001 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "epsilon_budget" double precision DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "budget_period_seconds" integer DEFAULT 86400 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_policies" ADD COLUMN "column_bounds" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "privacy_budgets" ADD CONSTRAINT "privacy_budgets_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_budgets" ADD CONSTRAINT "privacy_budgets_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_budgets" ADD CONSTRAINT "privacy_budgets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_budgets" ADD CONSTRAINT "privacy_budgets_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "privacy_budgets_credential_period_idx" ON "privacy_budgets" USING btree ("dataset_id",coalesce(user_id, api_key_id),"period_start");--> statement-breakpoint
CREATE INDEX "privacy_budgets_org_idx" ON "privacy_budgets" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "privacy_budgets_user_idx" ON "privacy_budgets" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "privacy_budgets_api_key_idx" ON "privacy_budgets" USING btree ("api_key_id");