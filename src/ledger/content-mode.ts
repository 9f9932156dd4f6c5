// What a checkpoint keeps of a turn, per agent (`ibex agent update NAME --content MODE`):
//   full      the messages and reply as sent and received (and the body template for replay)
//   redacted  the same with secrets and common personal data masked (redact.ts) before storing
//   metadata  no message or reply text at all: counts, ids, usage, status
import type { ContentMode } from '../stores/ports.js';
import { redactDeep, redactText } from './redact.js';
import { buildTemplate } from './upstream-template.js';
import { messageText } from './message-body.js';

export const CONTENT_MODES: readonly ContentMode[] = ['full', 'redacted', 'metadata'];
export type { ContentMode };

export function isContentMode(v: unknown): v is ContentMode {
  return typeof v === 'string' && (CONTENT_MODES as readonly string[]).includes(v);
}

export interface RecordedContent {
  /** The stored JSON text of each kept message (messageText, masked when redacted), made once here for the template and the store */
  messageTexts: string[];
  reply: string | null;
  /** The sent body with its messages as references (upstream-template.ts); null when not kept */
  upstreamTemplate: string | null;
  messageCount: number;
}

/**
 * The content a checkpoint stores for `mode`. `sent` is the body's JSON text as sent upstream (null
 * when unknown); `messages` the recorded messages (a subset of it, see the protocol's recordedMessages).
 */
export function recordContent(mode: ContentMode, sent: string | null, messages: unknown[], reply: string | null): RecordedContent {
  if (mode === 'metadata') return { messageTexts: [], reply: null, upstreamTemplate: null, messageCount: messages.length };
  if (mode === 'redacted') {
    const masked = redactDeep(messages);
    const maskedSent = sent === null ? null : JSON.stringify(redactDeep(JSON.parse(sent) as unknown));
    const texts = masked.map(messageText);
    return {
      messageTexts: texts,
      reply: reply === null ? null : redactText(reply),
      upstreamTemplate: maskedSent === null ? null : buildTemplate(maskedSent, texts),
      messageCount: messages.length,
    };
  }
  const texts = messages.map(messageText);
  return {
    messageTexts: texts,
    reply,
    upstreamTemplate: sent === null ? null : buildTemplate(sent, texts),
    messageCount: messages.length,
  };
}
