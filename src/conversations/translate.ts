import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { conversationMessages } from '../../db/schema/conversations';
import type { AuthedContext } from '../context';
import { InputError } from '../errors';
import { completeStructured } from '../llm/client';
import { type ConversationView, getConversation, messagesOf } from './service';

const LANGUAGE = /^[a-z]{2}$/;
const answer = z.object({ translation: z.string() });

/**
 * Translates a conversation's messages into `targetLanguage` (ISO 639-1) through the configured
 * LLM and stores each translation on its message, so later reads are served from storage and a
 * message already translated costs no call. The model is sent the redacted text only: personal
 * data never reaches the provider, and the stored translations are safe for every viewer of the
 * conversation. All messages' translations are written in one transaction, after every answer
 * came back (LLM_NOT_CONFIGURED without a key, nothing written on a failure).
 */
export async function translateConversation(
  ctx: AuthedContext,
  conversationId: string,
  targetLanguage: string,
): Promise<ConversationView> {
  const target = targetLanguage.trim().toLowerCase();
  if (!LANGUAGE.test(target))
    throw new InputError(
      'targetLanguage must be an ISO 639-1 code such as "en".',
      'targetLanguage',
    );
  const conversation = await getConversation(ctx, conversationId);
  const messages = await messagesOf(ctx.db, [conversation.id]);
  const updates: Array<{ id: string; text: string }> = [];
  for (const m of messages) {
    if (m.translations[target] !== undefined) continue;
    if (m.language === target) {
      updates.push({ id: m.id, text: m.maskedText });
      continue;
    }
    const { value } = await completeStructured(ctx, {
      name: 'translate_message',
      system: `Translate the user's message into the language with ISO 639-1 code "${target}". Keep "***" exactly as it is. Answer with JSON: {"translation": "..."}.`,
      user: m.maskedText,
      schema: answer,
    });
    updates.push({ id: m.id, text: value.translation });
  }
  if (updates.length > 0)
    await ctx.db.transaction(async (tx) => {
      for (const u of updates)
        await tx
          .update(conversationMessages)
          .set({
            translations: sql`${conversationMessages.translations} || jsonb_build_object(${target}::text, ${u.text}::text)`,
          })
          .where(eq(conversationMessages.id, u.id));
    });
  return conversation;
}
