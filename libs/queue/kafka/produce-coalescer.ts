// Concurrent publishes to one topic share produce requests (issue 14). Ingest publishes one
// upload per HTTP request, and the decoder's partition workers publish one slice each; sent
// alone, every one of them is a produce request of its own, and the broker's cost (and the
// client's: request framing, metadata, a socket write, a response to decode) is paid per request,
// not per byte. Here at most `maxInFlight` requests per topic are outstanding; publishes arriving
// meanwhile wait and leave together in the next request, up to `budgetBytes`. Nothing waits on a
// timer: an idle topic sends at once, so coalescing only happens when the broker is the queue.
//
// Contract, for each publish: it resolves only after the request that carried its messages was
// acknowledged (the caller's durability promise is unchanged), and it rejects with that request's
// error. A request refused for good (`isPermanent`) that carried several publishes is sent again
// publish by publish, so only the one whose records the broker refuses gets the refusal; the
// others may then be written twice, which the stages already tolerate (at-least-once, stable
// upload and series ids, docs/adr/0004). A transient failure rejects every publish in the request:
// each caller retries (or answers 503) exactly as it did when it sent alone. Messages of one
// publish stay in one request and in order; publishes leave in arrival order.

export interface CoalescerOptions<M> {
  /** one produce request (acks as the caller set them) */
  send(topic: string, messages: M[]): Promise<void>;
  /** whether a failed request would fail the same way again for the same records */
  isPermanent(err: unknown): boolean;
  /** outstanding requests per topic */
  maxInFlight: number;
  /** record bytes one request may carry (a single larger publish still goes, alone) */
  budgetBytes: number;
}

interface Pending<M> {
  messages: M[];
  bytes: number;
  /** the most record bytes the request carrying this publish may hold */
  budget: number;
  resolve(): void;
  reject(err: unknown): void;
}

interface TopicQueue<M> {
  waiting: Pending<M>[];
  inFlight: number;
}

export class ProduceCoalescer<M> {
  private readonly topics = new Map<string, TopicQueue<M>>();
  /** requests sent and publishes they carried, for tests and metrics */
  requests = 0;
  publishes = 0;

  constructor(private readonly o: CoalescerOptions<M>) {}

  /**
   * Resolves once a request carrying `messages` (`bytes` of records) was acknowledged. `budget`
   * lowers the request budget for this publish (a topic's own record-batch limit: the records
   * of one request that land in one partition form one batch).
   */
  publish(topic: string, messages: M[], bytes: number, budget = Infinity): Promise<void> {
    let q = this.topics.get(topic);
    if (!q) {
      q = { waiting: [], inFlight: 0 };
      this.topics.set(topic, q);
    }
    const p = new Promise<void>((resolve, reject) =>
      q.waiting.push({
        messages,
        bytes,
        budget: Math.min(budget, this.o.budgetBytes),
        resolve,
        reject,
      }),
    );
    this.pump(topic, q);
    return p;
  }

  private pump(topic: string, q: TopicQueue<M>): void {
    while (q.inFlight < this.o.maxInFlight && q.waiting.length > 0) {
      let n = 0;
      let bytes = 0;
      let budget = Infinity;
      while (n < q.waiting.length) {
        const next = q.waiting[n];
        budget = Math.min(budget, next.budget);
        if (n > 0 && bytes + next.bytes > budget) break;
        bytes += next.bytes;
        n++;
      }
      const group = q.waiting.splice(0, n);
      q.inFlight++;
      void this.run(topic, group).finally(() => {
        q.inFlight--;
        if (q.inFlight === 0 && q.waiting.length === 0) this.topics.delete(topic);
        else this.pump(topic, q);
      });
    }
  }

  private async run(topic: string, group: Pending<M>[]): Promise<void> {
    try {
      await this.sendGroup(topic, group);
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1 || !this.o.isPermanent(err)) {
        for (const p of group) p.reject(err);
        return;
      }
      // one record may be what the broker refuses: find it, publish by publish
      for (const p of group) {
        try {
          await this.sendGroup(topic, [p]);
          p.resolve();
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }

  private sendGroup(topic: string, group: Pending<M>[]): Promise<void> {
    this.requests++;
    this.publishes += group.length;
    const messages = group.length === 1 ? group[0].messages : group.flatMap((p) => p.messages);
    return this.o.send(topic, messages);
  }
}
