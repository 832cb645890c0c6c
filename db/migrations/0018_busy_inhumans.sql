CREATE TABLE "conversation_ingest_chunks" (
	"run_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"records" jsonb NOT NULL,
	CONSTRAINT "conversation_ingest_chunks_run_id_seq_pk" PRIMARY KEY("run_id","seq")
);
--> statement-breakpoint
ALTER TABLE "conversation_ingest_chunks" ADD CONSTRAINT "conversation_ingest_chunks_run_id_conversation_ingest_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."conversation_ingest_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation_ingest_runs" DROP COLUMN "records";