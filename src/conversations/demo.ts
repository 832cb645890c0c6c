import type { Db } from '../../db/client';
import { conversationPolicies } from '../../db/schema/conversations';
import { createRng, type Rng } from '../models/random';
import { analyzeRecord } from './analyze';
import type { ConversationRecord } from './records';
import { DEFAULT_TAXONOMY, type Taxonomy } from './topics';
import { writeConversations } from './write';

/**
 * Opening customer messages by language, each labelled with the topic and sentiment its author
 * meant (negations and mixed feelings included), so the demo doubles as a small labelled set.
 * Written for the demo; not taken from real customers.
 */
const OPENINGS: Array<{ language: string; topic: string; sentiment: string; text: string }> = [
  {
    language: 'en',
    topic: 'billing',
    sentiment: 'NEGATIVE',
    text: 'I was charged twice on my last invoice and nobody has fixed it.',
  },
  {
    language: 'en',
    topic: 'shipping',
    sentiment: 'NEGATIVE',
    text: 'My parcel never arrived and the tracking page is not helpful at all.',
  },
  {
    language: 'en',
    topic: 'bug',
    sentiment: 'MIXED',
    text: 'The support team is helpful but the app is terrible, it crashes every day.',
  },
  {
    language: 'en',
    topic: 'account',
    sentiment: 'NEUTRAL',
    text: 'How do I reset the password for my account?',
  },
  {
    language: 'en',
    topic: 'feedback',
    sentiment: 'POSITIVE',
    text: 'I love the new feature, it is really great. Thank you!',
  },
  {
    language: 'en',
    topic: 'refunds',
    sentiment: 'NEUTRAL',
    text: 'Can I get a refund for the order I returned last week?',
  },
  {
    language: 'en',
    topic: 'cancellation',
    sentiment: 'NEGATIVE',
    text: 'Not happy with the service, I want to cancel my subscription.',
  },
  {
    language: 'es',
    topic: 'billing',
    sentiment: 'NEUTRAL',
    text: 'Hola, necesito ayuda con mi factura de este mes.',
  },
  {
    language: 'es',
    topic: 'shipping',
    sentiment: 'NEUTRAL',
    text: '¿Dónde está mi pedido? El envío no ha llegado todavía.',
  },
  {
    language: 'fr',
    topic: 'shipping',
    sentiment: 'NEUTRAL',
    text: "Bonjour, ma livraison n'est toujours pas arrivée, où est mon colis ?",
  },
  {
    language: 'fr',
    topic: 'billing',
    sentiment: 'NEUTRAL',
    text: 'Je ne comprends pas cette facture, pouvez-vous m’aider ?',
  },
  {
    language: 'de',
    topic: 'billing',
    sentiment: 'NEUTRAL',
    text: 'Ich habe eine Frage zu meiner Rechnung vom letzten Monat.',
  },
  {
    language: 'de',
    topic: 'account',
    sentiment: 'NEUTRAL',
    text: 'Ich habe mein Passwort vergessen und komme nicht in mein Konto.',
  },
];

const REPLIES: Record<string, string> = {
  en: 'Thanks for reaching out, let me look into this for you.',
  es: 'Gracias por escribirnos, lo reviso ahora mismo.',
  fr: 'Merci de nous avoir contactés, je regarde cela tout de suite.',
  de: 'Danke für Ihre Nachricht, ich sehe mir das sofort an.',
};

const CLOSINGS = [
  { text: 'Thanks, that solved it. Great support!', sentiment: 'POSITIVE' },
  { text: 'Still not working, this is frustrating.', sentiment: 'NEGATIVE' },
  { text: 'Ok, I will wait.', sentiment: 'NEUTRAL' },
];

const CHANNELS = ['chat', 'email', 'whatsapp'];
const INBOXES = ['support', 'billing', 'sales'];
const NAMES = ['Maria Lopez', 'John Carter', 'Anna Schmidt', 'Louis Martin', 'Sarah Kim'];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)]!;

/**
 * A generated, seeded set of `count` conversations over the 60 days before `end`: several
 * languages, channels and inboxes, customers with personal data in their messages, response
 * times from minutes to more than a day. Each carries `metadata.generated: true` and the labels
 * its opening was written with. The same seed gives the same set.
 */
export function generateDemoConversations(
  count: number,
  seed: number,
  end: Date,
): ConversationRecord[] {
  const rng = createRng(seed, 'demo-conversations');
  const out: ConversationRecord[] = [];
  for (let i = 0; i < count; i++) {
    const opening = pick(rng, OPENINGS);
    const name = pick(rng, NAMES);
    const email = `${name.toLowerCase().replace(' ', '.')}@example.com`;
    const start = new Date(end.getTime() - Math.floor(rng.next() * 60 * 86400) * 1000);
    const firstResponse = Math.floor(60 + rng.next() ** 3 * 30 * 3600);
    const resolved = rng.next() < 0.7;
    const closing = opening.language === 'en' ? pick(rng, CLOSINGS) : null;
    const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);
    const messages: ConversationRecord['messages'] = [
      { role: 'USER', author: name, text: `${opening.text} I'm ${name}, ${email}.`, sentAt: start },
      {
        role: 'AGENT',
        author: 'Agent',
        text: REPLIES[opening.language]!,
        sentAt: at(firstResponse),
      },
    ];
    if (closing)
      messages.push({
        role: 'USER',
        author: name,
        text: closing.text,
        sentAt: at(firstResponse + 600),
      });
    out.push({
      externalId: `demo-${seed}-${i}`,
      channel: pick(rng, CHANNELS),
      inbox: pick(rng, INBOXES),
      customerRef: email,
      customerAttributes: { plan: pick(rng, ['free', 'pro', 'enterprise']) },
      startedAt: start,
      endedAt: resolved ? at(firstResponse + 3600 + Math.floor(rng.next() * 48 * 3600)) : null,
      status: resolved ? 'RESOLVED' : 'OPEN',
      metadata: {
        generated: true,
        labels: {
          language: opening.language,
          topic: opening.topic,
          openingSentiment: opening.sentiment,
        },
      },
      messages,
    });
  }
  return out;
}

/**
 * Loads the generated demo conversations into an organization in one transaction, and lets the
 * demo API key read them (keys read no conversations unless a policy names them).
 */
export async function seedDemoConversations(
  db: Db,
  orgId: string,
  demoKeyId: string | null,
  options: { count?: number; seed?: number; end?: Date; taxonomy?: Taxonomy } = {},
): Promise<number> {
  const records = generateDemoConversations(
    options.count ?? 300,
    options.seed ?? 42,
    options.end ?? new Date(),
  );
  await db.transaction(async (tx) => {
    const taxonomy = options.taxonomy ?? DEFAULT_TAXONOMY;
    await writeConversations(
      tx,
      orgId,
      records.map((record) => ({ record: analyzeRecord(record, taxonomy), answer: null })),
    );
    if (demoKeyId)
      await tx
        .insert(conversationPolicies)
        .values({ orgId, principalKind: 'API_KEY', principalApiKeyId: demoKeyId });
  });
  return records.length;
}
