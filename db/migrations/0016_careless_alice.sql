CREATE TABLE "conversation_recategorize_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"created_by" uuid,
	"cursor" uuid,
	"recategorized" integer DEFAULT 0 NOT NULL,
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
ALTER TABLE "conversation_recategorize_runs" ADD CONSTRAINT "conversation_recategorize_runs_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_recategorize_runs" ADD CONSTRAINT "conversation_recategorize_runs_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversation_recategorize_runs_org_idx" ON "conversation_recategorize_runs" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "conversation_recategorize_runs_created_by_idx" ON "conversation_recategorize_runs" USING btree ("created_by");