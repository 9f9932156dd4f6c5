// Text that came from callers (model names, messages, replies, agent labels) is shown with control
// characters escaped, so nobody can write terminal escape sequences (clear screen, window titles,
// OSC 8 links…) into an operator's terminal. Tabs and newlines are kept.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
