import { z } from 'zod';
import {
  CONVERSATION_STATUSES,
  type IngestProblem,
  MESSAGE_ROLES,
} from '../../db/schema/conversations';
import { DatasetInputError } from '../datasets/input-error';
import { parseFile } from '../datasets/parse';
import { InputError } from '../errors';

export const INGEST_FORMATS = ['NDJSON', 'JSON', 'CSV'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];

const date = z.coerce.date().refine((d) => !Number.isNaN(d.getTime()), 'not a valid date');

export const messageRecord = z.object({
  role: z.enum(MESSAGE_ROLES),
  author: z.string().max(500).nullish(),
  text: z.string().min(1).max(100_000),
  sentAt: date,
});
export type MessageRecord = z.infer<typeof messageRecord>;

/** One conversation as a file or a live feed gives it. */
export const conversationRecord = z.object({
  externalId: z.string().min(1).max(500),
  channel: z.string().min(1).max(100),
  inbox: z.string().min(1).max(200),
  customerRef: z.string().max(500).nullish(),
  customerAttributes: z.record(z.string(), z.unknown()).nullish(),
  startedAt: date.nullish(),
  endedAt: date.nullish(),
  status: z.enum(CONVERSATION_STATUSES).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  messages: z.array(messageRecord).min(1).max(10_000),
});
export type ConversationRecord = z.infer<typeof conversationRecord>;

/** Receives each valid record, in the file's order, with the line it came from. */
export type OnRecord = (record: ConversationRecord, line: number) => Promise<void> | void;

function problemOf(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'record'}: ${issue.message}`;
}

/**
 * Reads a file of conversations: NDJSON (one conversation per line, read as it streams in),
 * JSON (an array of conversations; "line" is the item's 1-based position) or CSV (one message
 * per row, grouped by `external_id`; columns external_id, channel, inbox, customer_ref, status,
 * role, author, text, sent_at). Each valid record goes to `onRecord` in order; every invalid
 * one is returned with its line, none dropped silently.
 */
export async function readConversationFile(
  source: AsyncIterable<Uint8Array>,
  text: () => Promise<string>,
  format: IngestFormat,
  onRecord: OnRecord,
  onProblem: () => void = () => {},
): Promise<IngestProblem[]> {
  if (format === 'CSV') return readCsv(source, onRecord, onProblem);
  const problems: IngestProblem[] = [];
  const report = (problem: IngestProblem) => {
    problems.push(problem);
    onProblem();
  };
  const take = async (line: number, value: unknown) => {
    const result = conversationRecord.safeParse(value);
    if (result.success) await onRecord(result.data, line);
    else report({ line, message: problemOf(result.error) });
  };
  if (format === 'JSON') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await text());
    } catch {
      throw new InputError('The file is not valid JSON.', 'file');
    }
    if (!Array.isArray(parsed)) throw new InputError('A JSON file must hold an array.', 'file');
    for (const [i, value] of parsed.entries()) await take(i + 1, value);
    return problems;
  }
  let line = 0;
  const takeLine = async (raw: string) => {
    line++;
    if (!raw.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      report({ line, message: 'not valid JSON' });
      return;
    }
    await take(line, value);
  };
  const decoder = new TextDecoder();
  let rest = '';
  for await (const bytes of source) {
    const lines = (rest + decoder.decode(bytes, { stream: true })).split('\n');
    rest = lines.pop()!;
    for (const raw of lines) await takeLine(raw);
  }
  await takeLine(rest + decoder.decode());
  return problems;
}

const CSV_COLUMNS = ['external_id', 'channel', 'inbox', 'role', 'text', 'sent_at'];

async function readCsv(
  source: AsyncIterable<Uint8Array>,
  onRecord: OnRecord,
  onProblem: () => void,
): Promise<IngestProblem[]> {
  let file: Awaited<ReturnType<typeof parseFile>>;
  try {
    file = await parseFile(source, { format: 'CSV' });
  } catch (error) {
    if (error instanceof DatasetInputError) throw new InputError(error.message, 'file');
    throw error;
  }
  const missing = CSV_COLUMNS.filter((c) => !file.columns.includes(c));
  if (missing.length > 0)
    throw new InputError(`The CSV file lacks the columns ${missing.join(', ')}.`, 'file');
  const at = (name: string) => file.columns.indexOf(name);
  const groups = new Map<
    string,
    { line: number; rows: Array<{ line: number; values: unknown[] }> }
  >();
  try {
    for await (const batch of file.rows) {
      for (const row of batch) {
        const key = String(row.values[at('external_id')] ?? '');
        let group = groups.get(key);
        if (!group) {
          group = { line: row.line, rows: [] };
          groups.set(key, group);
        }
        group.rows.push(row);
      }
    }
  } catch (error) {
    if (error instanceof DatasetInputError) throw new InputError(error.message, 'file');
    throw error;
  }
  const problems: IngestProblem[] = [];
  const field = (values: unknown[], name: string) => {
    const i = at(name);
    const v = i < 0 ? null : values[i];
    return v === null || v === undefined ? undefined : String(v);
  };
  for (const group of groups.values()) {
    const first = group.rows[0]!.values;
    const messages = [];
    let bad: IngestProblem | null = null;
    for (const row of group.rows) {
      const m = messageRecord.safeParse({
        role: field(row.values, 'role'),
        author: field(row.values, 'author'),
        text: field(row.values, 'text'),
        sentAt: field(row.values, 'sent_at'),
      });
      if (!m.success) {
        bad = { line: row.line, message: problemOf(m.error) };
        break;
      }
      messages.push(m.data);
    }
    const result = bad
      ? null
      : conversationRecord.safeParse({
          externalId: field(first, 'external_id'),
          channel: field(first, 'channel'),
          inbox: field(first, 'inbox'),
          customerRef: field(first, 'customer_ref'),
          status: field(first, 'status'),
          messages,
        });
    if (bad || !result!.success) {
      problems.push(bad ?? { line: group.line, message: problemOf(result!.error!) });
      onProblem();
    } else await onRecord(result!.data, group.line);
  }
  return problems.sort((a, b) => a.line - b.line);
}
