import { describe, expect, it } from 'vitest';
import { languageOf } from '../../src/conversations/language';
import { sentimentOf } from '../../src/conversations/sentiment';

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
