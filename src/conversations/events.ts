/**
 * Something happened in a conversation. Carries ids only: each subscriber reads the message
 * through the gate, so it arrives masked or not as that subscriber may see it.
 */
export interface ConversationEvent {
  kind: 'MESSAGE_ADDED' | 'CATEGORIZED';
  conversationId: string;
  messageId: string | null;
  inbox: string;
}
