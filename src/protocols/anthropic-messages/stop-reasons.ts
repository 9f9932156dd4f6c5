// Why generation stopped, between Anthropic's stop_reason and OpenAI's finish_reason.

const TO_CHAT: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // a paused server-tool turn ends this reply like a normal stop; the caller may send it back
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

const TO_ANTHROPIC: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function chatFinishReason(stopReason: string | null | undefined): string | null {
  if (stopReason == null) return null;
  return TO_CHAT[stopReason] ?? 'stop';
}

export function anthropicStopReason(finishReason: string | null | undefined): string | null {
  if (finishReason == null) return null;
  return TO_ANTHROPIC[finishReason] ?? 'end_turn';
}
