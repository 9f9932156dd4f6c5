#!/usr/bin/env node
// What recording a turn costs the gateway's main thread against forwarding it, for a conversation of
// M messages of about B bytes each: parsing the request body, serialising the body sent upstream, and
// `recordContent` (the ledger's message texts and the body template), with its two parts apart.
//   node bench/record-content.mjs [M=100] [B=2000] [ITERATIONS=300]
// Needs the build (npm run build). Prints µs per turn for each.
import { recordContent } from '../dist/src/ledger/content-mode.js';
import { messageText } from '../dist/src/ledger/message-body.js';
import { buildTemplate } from '../dist/src/ledger/upstream-template.js';

const [m = 100, b = 2000, n = 300] = process.argv.slice(2).map(Number);
const filler = 'lorem ipsum dolor sit amet, "quoted" \n';
const messages = [{ role: 'system', content: 'You are a careful assistant. '.repeat(20) }];
for (let i = 0; i < m; i++) {
  messages.push({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} ` + filler.repeat(Math.ceil(b / filler.length)) });
}
const body = { model: 'gpt-4o-mini', messages, temperature: 0.2 };
const sent = JSON.stringify(body);
const texts = messages.map(messageText);

function time(label, work) {
  for (let i = 0; i < Math.min(n, 20); i++) work(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) work();
  console.log(`${label.padEnd(34)} ${(Number(process.hrtime.bigint() - t0) / 1000 / n).toFixed(1)} µs`);
}
console.log(`${m + 1} messages, ${sent.length} bytes sent`);
time('parse the request body', () => JSON.parse(sent));
time('serialise the body sent upstream', () => JSON.stringify(body));
time('recordContent (full)', () => recordContent('full', sent, messages, 'reply'));
time('  of which the message texts', () => messages.map(messageText));
time('  of which the body template', () => buildTemplate(sent, texts));
