import { createRng, type Rng } from '../models/random';
import type { ConversationRecord } from './records';

/**
 * A generated, seeded, labelled set of conversations to train and test conversation classifiers
 * on: each opening is composed from an intent's phrasing and a topic's subject, in English,
 * Spanish, French or German, and the record carries `metadata.labels` with the topic and intent
 * it was composed from (null where it has none). Written for this purpose; not taken from real
 * customers, and not drawn from the evaluation set.
 */

type Lang = 'en' | 'es' | 'fr' | 'de';

/** What a customer writes about, by topic of the default taxonomy. */
const SUBJECTS: Record<string, Record<Lang, string[]>> = {
  billing: {
    en: [
      'the invoice for March',
      'the double charge on my card',
      'my monthly statement',
      'the VAT on my receipt',
      'the amount you debited last week',
      'the price increase on my plan',
    ],
    es: ['la factura de marzo', 'el cobro doble en mi tarjeta', 'el importe de este mes'],
    fr: ['la facture de mars', 'le double prélèvement sur ma carte', 'le montant débité'],
    de: ['die Rechnung für März', 'die doppelte Abbuchung', 'den abgebuchten Betrag'],
  },
  refunds: {
    en: [
      'the refund for my return',
      'the reimbursement you promised',
      'the money for the jacket I sent back',
      'the credit for the damaged item',
    ],
    es: ['el reembolso de mi devolución', 'el dinero del pedido devuelto'],
    fr: ['le remboursement de mon retour', "l'argent de l'article renvoyé"],
    de: ['die Rückerstattung für meine Rücksendung', 'das Geld für den zurückgeschickten Artikel'],
  },
  shipping: {
    en: [
      'my parcel',
      'the package I ordered on Monday',
      'the delivery to my flat',
      'order 4471',
      'the courier pickup',
      'the shipment from your warehouse',
    ],
    es: ['mi pedido', 'el paquete que pedí', 'el envío a mi casa'],
    fr: ['mon colis', 'la livraison à mon domicile', 'ma commande 4471'],
    de: ['mein Paket', 'die Lieferung an meine Wohnung', 'meine Bestellung 4471'],
  },
  account: {
    en: [
      'my account',
      'my login',
      'the two-factor code',
      'my profile settings',
      'the password reset email',
    ],
    es: ['mi cuenta', 'mi contraseña', 'el código de verificación'],
    fr: ['mon compte', 'mon mot de passe', 'le code de vérification'],
    de: ['mein Konto', 'mein Passwort', 'den Bestätigungscode'],
  },
  bug: {
    en: [
      'the mobile app',
      'the export button',
      'the dashboard',
      'the sync feature',
      'the checkout page',
    ],
    es: ['la aplicación', 'el botón de exportar', 'la página de pago'],
    fr: ["l'application", "le bouton d'export", 'la page de paiement'],
    de: ['die App', 'den Export-Button', 'die Bezahlseite'],
  },
  cancellation: {
    en: ['my subscription', 'my membership', 'the premium plan', 'my contract'],
    es: ['mi suscripción', 'mi contrato', 'el plan premium'],
    fr: ['mon abonnement', 'mon contrat', "l'offre premium"],
    de: ['mein Abo', 'meinen Vertrag', 'den Premium-Tarif'],
  },
  feedback: {
    en: ['the new design', 'the latest update', 'your onboarding', 'the dark mode'],
    es: ['el nuevo diseño', 'la última actualización'],
    fr: ['le nouveau design', 'la dernière mise à jour'],
    de: ['das neue Design', 'das letzte Update'],
  },
};

/** How a customer phrases an intent around a subject (`{s}`); null: no particular intent. */
const FRAMES: Array<{
  intent: string | null;
  topics: string[] | null;
  text: Record<Lang, string[]>;
}> = [
  {
    intent: 'QUESTION',
    topics: null,
    text: {
      en: [
        'Quick question about {s}, how does it work?',
        'Could you tell me more about {s}?',
        'What happens with {s} now?',
        'Is there any news on {s}?',
      ],
      es: ['¿Me pueden explicar {s}?', 'Tengo una pregunta sobre {s}, ¿cómo funciona?'],
      fr: ['Pouvez-vous m’expliquer {s} ?', 'Une question sur {s}, comment ça marche ?'],
      de: ['Können Sie mir {s} erklären?', 'Eine Frage zu {s}: wie funktioniert das?'],
    },
  },
  {
    intent: 'COMPLAINT',
    topics: null,
    text: {
      en: [
        "I'm fed up with {s}, this is unacceptable.",
        '{s} is a total mess and nobody cares. Awful.',
        'Really disappointed with {s}.',
      ],
      es: ['Estoy harto de {s}, es inaceptable.', 'Muy decepcionado con {s}.'],
      fr: ['J’en ai assez de {s}, c’est inacceptable.', 'Très déçu par {s}.'],
      de: ['Ich habe genug von {s}, das ist inakzeptabel.', 'Sehr enttäuscht von {s}.'],
    },
  },
  {
    intent: 'PRAISE',
    topics: ['feedback', 'shipping', 'account', 'billing'],
    text: {
      en: [
        'Big thanks for {s}, you are brilliant. Thank you so much!',
        '{s} went smoothly, great job!',
      ],
      es: ['Muchas gracias por {s}, ¡excelente trabajo!'],
      fr: ['Merci beaucoup pour {s}, excellent travail !'],
      de: ['Vielen Dank für {s}, großartige Arbeit!'],
    },
  },
  {
    intent: 'REFUND_REQUEST',
    topics: ['refunds', 'billing'],
    text: {
      en: ["I'd like my money back for {s}.", 'Please send me a refund for {s}.'],
      es: ['Quiero un reembolso por {s}.'],
      fr: ['Je voudrais être remboursé pour {s}.'],
      de: ['Ich möchte mein Geld für {s} zurück.'],
    },
  },
  {
    intent: 'ORDER_STATUS',
    topics: ['shipping'],
    text: {
      en: ['Where is {s}?', "{s} still hasn't arrived, what's going on?"],
      es: ['¿Dónde está {s}?', '{s} todavía no ha llegado.'],
      fr: ['Où en est {s} ? Toujours rien reçu.', "{s} n'est toujours pas arrivé."],
      de: ['Wo ist {s}?', '{s} ist immer noch nicht angekommen.'],
    },
  },
  {
    intent: 'ACCOUNT_ACCESS',
    topics: ['account'],
    text: {
      en: ["I can't log in to {s}.", "I'm locked out of {s}, please help."],
      es: ['No puedo entrar en {s}.'],
      fr: ['Je n’arrive pas à accéder à {s}.'],
      de: ['Ich komme nicht in {s} rein.'],
    },
  },
  {
    intent: 'BUG_REPORT',
    topics: ['bug'],
    text: {
      en: ['{s} keeps freezing when I open it.', '{s} shows an error every time.'],
      es: ['{s} se bloquea cada vez.', '{s} da un error siempre.'],
      fr: ['{s} plante à chaque fois.', '{s} affiche une erreur.'],
      de: ['{s} stürzt jedes Mal ab.', '{s} zeigt immer einen Fehler.'],
    },
  },
  {
    intent: 'CANCEL',
    topics: ['cancellation'],
    text: {
      en: ['Please end {s} today.', 'I want to stop {s} at the end of the month.'],
      es: ['Quiero dar de baja {s}.'],
      fr: ['Je veux arrêter {s}.'],
      de: ['Bitte beenden Sie {s}.'],
    },
  },
  {
    intent: null,
    topics: null,
    text: {
      en: ['Just writing about {s}.', 'Regarding {s}: see the attached note.'],
      es: ['Les escribo por {s}.'],
      fr: ['Je vous écris au sujet de {s}.'],
      de: ['Ich schreibe wegen {s}.'],
    },
  },
];

/** Openings with neither topic nor intent. */
const SMALL_TALK: Record<Lang, string[]> = {
  en: ['Hello, anyone there', 'Good morning team', "Hi, it's me again"],
  es: ['Hola, buenos días'],
  fr: ['Bonjour à toute l’équipe'],
  de: ['Hallo zusammen'],
};

const LANGS: Lang[] = ['en', 'en', 'en', 'es', 'fr', 'de'];
const NAMES = ['Maria Lopez', 'John Carter', 'Anna Schmidt', 'Louis Martin', 'Sarah Kim'];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)]!;

/** `count` labelled conversations; the same seed gives the same set. */
export function generateLabelledConversations(
  count: number,
  seed: number,
  end: Date,
): ConversationRecord[] {
  const rng = createRng(seed, 'labelled-conversations');
  const out: ConversationRecord[] = [];
  for (let i = 0; i < count; i++) {
    const language = pick(rng, LANGS);
    let text: string;
    let topic: string | null;
    let intent: string | null;
    if (rng.next() < 0.08) {
      text = pick(rng, SMALL_TALK[language]);
      topic = null;
      intent = null;
    } else {
      const frame = pick(rng, FRAMES);
      topic = pick(rng, frame.topics ?? Object.keys(SUBJECTS));
      intent = frame.intent;
      const subject = pick(rng, SUBJECTS[topic]![language]);
      const phrasing = pick(rng, frame.text[language]);
      text = phrasing.replace('{s}', subject);
      text = text.charAt(0).toUpperCase() + text.slice(1);
    }
    const name = pick(rng, NAMES);
    const sentAt = new Date(end.getTime() - Math.floor(rng.next() * 30 * 86400) * 1000);
    out.push({
      externalId: `labelled-${seed}-${i}`,
      channel: pick(rng, ['chat', 'email']),
      inbox: 'support',
      messages: [
        {
          role: 'USER',
          author: name,
          text: rng.next() < 0.5 ? `${text} ${name}` : text,
          sentAt,
        },
        {
          role: 'AGENT',
          author: 'Agent',
          text: 'Thanks, we are on it.',
          sentAt: new Date(sentAt.getTime() + 60_000),
        },
      ],
      metadata: { generated: true, labels: { topic, intent } },
    });
  }
  return out;
}
