// The Responses the mock created, so GET /v1/responses/{id}, input_items and
// previous_response_id chains work. Bounded (oldest evicted first) so a long bench run
// cannot grow memory.

export interface StoredResponse {
  /** the Response object as last returned */
  response: Record<string, unknown>;
  /** this request's input, as items with ids (what input_items lists) */
  inputItems: Record<string, unknown>[];
  /** input + output tokens of the whole chain up to and including this response */
  contextTokens: number;
  /** created with background: true; completes on its first retrieval unless cancelled */
  background: boolean;
  /** the completed Response a background one turns into */
  completed?: Record<string, unknown>;
}

export class ResponseStore {
  private readonly map = new Map<string, StoredResponse>();

  constructor(readonly limit = 1000) {}

  get(id: string): StoredResponse | undefined {
    return this.map.get(id);
  }

  put(id: string, entry: StoredResponse): void {
    this.map.delete(id);
    this.map.set(id, entry);
    while (this.map.size > Math.max(1, this.limit)) {
      this.map.delete(this.map.keys().next().value!);
    }
  }

  delete(id: string): boolean {
    return this.map.delete(id);
  }

  get size(): number {
    return this.map.size;
  }
}
