// Ids of the Response objects ibex makes when it translates a chat completion. One seed, the response
// id, determines all of them: `resp_<s>` → message items `msg_<s>_<outputIndex>`, function calls
// `fc_<s>_<outputIndex>`. Callers (the pipeline, tests) may pass the response id; by default it is
// random (24 random bytes in hex), as ids from the Responses API are unique per response.
import { randomBytes } from 'node:crypto';

export interface ResponseIds {
  response: string;
  message(outputIndex: number): string;
  functionCall(outputIndex: number): string;
}

export function newResponseId(): string {
  return `resp_${randomBytes(24).toString('hex')}`;
}

export function responseIds(responseId: string = newResponseId()): ResponseIds {
  const seed = responseId.startsWith('resp_') ? responseId.slice('resp_'.length) : responseId;
  return {
    response: responseId,
    message: (i) => `msg_${seed}_${i}`,
    functionCall: (i) => `fc_${seed}_${i}`,
  };
}
