import { describe, expect, it } from 'vitest';
import { intentOf } from '../../src/conversations/intents';
import { languageOf } from '../../src/conversations/language';
import { sentimentOf } from '../../src/conversations/sentiment';
import { checkTaxonomy, topicsOf } from '../../src/conversations/topics';

describe('sentiment', () => {
  it('reads a contrast as negative or mixed', () => {
    expect(['NEGATIVE', 'MIXED']).toContain(sentimentOf('helpful but the app is terrible').label);
    expect(
      sentimentOf('The agent was great, however the refund took forever and I am angry.').label,
    ).toBe('MIXED');
  });

  it('handles negation', () => {
    expect(sentimentOf('not good').label).toBe('NEGATIVE');
    expect(sentimentOf('This is good').label).toBe('POSITIVE');
    expect(sentimentOf('The support was not helpful at all').label).toBe('NEGATIVE');
  });

  it('weighs intensifiers', () => {
    expect(sentimentOf('very good').score).toBeGreaterThan(sentimentOf('good').score);
  });

  it('calls plain statements neutral', () => {
    expect(sentimentOf('I want to cancel my subscription').label).toBe('NEUTRAL');
    expect(sentimentOf('   ').label).toBe('NEUTRAL');
  });
});

describe('language', () => {
  it.each([
    ['hola, necesito ayuda con mi factura', 'es'],
    ['merci beaucoup', 'fr'],
    ['Wo ist meine Bestellung?', 'de'],
    ['my order never arrived', 'en'],
    ['obrigado pela ajuda', 'pt'],
  ])('detects the language of "%s"', (text, language) => {
    expect(languageOf(text)).toBe(language);
  });

  it('is null when unsure', () => {
    expect(languageOf('ok')).toBeNull();
  });
});

describe('topics', () => {
  it('scores topics by weighted keywords, best first', () => {
    const topics = topicsOf(
      'I was charged twice and the invoice is wrong; also the delivery was late',
    );
    expect(topics.map((t) => t.topic)).toEqual(['billing', 'shipping']);
    expect(topics[0]!.score).toBeCloseTo(6 / 9, 6);
  });

  it('ignores a negated mention', () => {
    expect(
      topicsOf('No problem with the delivery, but I need a refund').map((t) => t.topic),
    ).toEqual(['refunds']);
  });

  it('uses an organization taxonomy', () => {
    const taxonomy = { onboarding: { 'set up': 2, tutorial: 1 } };
    expect(topicsOf('How do I set up the tutorial?', taxonomy)).toEqual([
      { topic: 'onboarding', score: 1 },
    ]);
    expect(checkTaxonomy({ x: { y: -1 } })).toContain('positive weight');
    expect(checkTaxonomy({})).toContain('at least one topic');
  });
});

describe('intents', () => {
  it('weighs the opening customer message most', () => {
    expect(
      intentOf([
        { role: 'USER', text: 'Where is my order? It never arrived.' },
        { role: 'AGENT', text: 'Let me cancel and refund it.' },
        { role: 'USER', text: 'This is terrible' },
      ]),
    ).toBe('ORDER_STATUS');
    expect(intentOf([{ role: 'USER', text: 'I want to cancel my subscription' }])).toBe('CANCEL');
    expect(intentOf([{ role: 'AGENT', text: 'refund' }])).toBeNull();
  });
});

describe('dampeners', () => {
  it('soften a clause', () => {
    expect(sentimentOf('slightly good').score).toBeLessThan(sentimentOf('good').score);
  });
});
