import type { TopicScore } from '../../db/schema/conversations';

/** Topic → keyword or phrase → weight. Organizations replace it with their own. */
export type Taxonomy = Record<string, Record<string, number>>;

export const DEFAULT_TAXONOMY: Taxonomy = {
  billing: {
    invoice: 3,
    bill: 2,
    billing: 3,
    charge: 2,
    charged: 3,
    payment: 2,
    price: 1,
    subscription: 1,
    'credit card': 3,
    factura: 3,
    pago: 2,
    rechnung: 3,
    facture: 3,
  },
  refunds: { refund: 3, 'money back': 3, reimburse: 3, chargeback: 3, reembolso: 3 },
  shipping: {
    delivery: 3,
    shipping: 3,
    shipped: 2,
    package: 2,
    parcel: 2,
    tracking: 2,
    courier: 2,
    arrived: 1,
    order: 1,
    pedido: 2,
    envío: 3,
    lieferung: 3,
    bestellung: 2,
    livraison: 3,
    colis: 2,
  },
  account: {
    login: 3,
    'log in': 3,
    password: 3,
    account: 2,
    'sign in': 3,
    locked: 2,
    '2fa': 3,
    contraseña: 3,
    passwort: 3,
    'mot de passe': 3,
  },
  bug: {
    crash: 3,
    crashes: 3,
    error: 2,
    bug: 3,
    broken: 2,
    "doesn't work": 2,
    'not working': 2,
    freeze: 2,
    slow: 1,
    app: 1,
  },
  cancellation: { cancel: 3, cancellation: 3, unsubscribe: 3, 'close my account': 3, cancelar: 3 },
  feedback: { suggestion: 2, feature: 2, 'would be nice': 2, love: 1, recommend: 1 },
};

/** A keyword before which a mention does not count ("no problem with the delivery"). */
const NEGATED_CONTEXT = /\b(?:no|not|never|without)\s+(?:\w+\s+){0,3}$/i;
/** Smallest share of the keyword weight a topic needs to be reported. */
const MIN_SHARE = 0.2;
const MAX_TOPICS = 3;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type KeywordPattern = { topic: string; pattern: RegExp; weight: number };
/** Each taxonomy's keyword patterns, compiled once per taxonomy object rather than per text. */
const compiled = new WeakMap<Taxonomy, KeywordPattern[]>();

function patternsOf(taxonomy: Taxonomy): KeywordPattern[] {
  let patterns = compiled.get(taxonomy);
  if (!patterns) {
    patterns = Object.entries(taxonomy).flatMap(([topic, keywords]) =>
      Object.entries(keywords).map(([keyword, weight]) => ({
        topic,
        weight,
        // `matchAll` works on a copy, so one global pattern serves every text.
        pattern: new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(keyword)}(?![\\p{L}\\p{N}])`, 'giu'),
      })),
    );
    compiled.set(taxonomy, patterns);
  }
  return patterns;
}

/**
 * Topics of a text: each keyword found (as a whole word or phrase, case-insensitive) adds its
 * weight to its topic unless a negation just before it rules the mention out; topics are
 * scored by their share of the weight found, best first.
 */
export function topicsOf(text: string, taxonomy: Taxonomy = DEFAULT_TAXONOMY): TopicScore[] {
  const weights = new Map<string, number>();
  for (const { topic, pattern, weight } of patternsOf(taxonomy)) {
    for (const match of text.matchAll(pattern)) {
      if (NEGATED_CONTEXT.test(text.slice(Math.max(0, match.index - 40), match.index))) continue;
      weights.set(topic, (weights.get(topic) ?? 0) + weight);
    }
  }
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  return [...weights]
    .map(([topic, weight]) => ({ topic, score: weight / total }))
    .filter((t) => t.score >= MIN_SHARE)
    .sort((a, b) => b.score - a.score || a.topic.localeCompare(b.topic))
    .slice(0, MAX_TOPICS);
}

/** A taxonomy as a caller sent it, checked: names and keywords non-empty, weights positive. */
export function checkTaxonomy(taxonomy: Taxonomy): string | null {
  const topics = Object.entries(taxonomy);
  if (topics.length === 0) return 'A taxonomy needs at least one topic.';
  for (const [topic, keywords] of topics) {
    if (!topic.trim()) return 'Topic names cannot be empty.';
    const entries = Object.entries(keywords ?? {});
    if (entries.length === 0) return `Topic "${topic}" has no keywords.`;
    for (const [keyword, weight] of entries) {
      if (!keyword.trim()) return `Topic "${topic}" has an empty keyword.`;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0)
        return `Keyword "${keyword}" of "${topic}" needs a positive weight.`;
    }
  }
  return null;
}
