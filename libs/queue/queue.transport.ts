import { Logger } from '@nestjs/common';
import { Server } from '@nestjs/microservices';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { MessageBatch, QueueBroker, RetryPolicy, Subscription } from './queue.port.js';
import { CONSUMER_GROUPS, DEAD_LETTER_TOPICS } from './topics.js';

// The NestJS custom transport over the queue port (Kafka or in-process). Handlers are declared
// with `@EventPattern(TOPICS.raw)` in whichever modules the process enabled; one transport per
// process subscribes each declared topic with the consumer group that owns it, so the
// all-in-one process and the split services run the same handlers the same way.
//
// Unlike Nest's built-in Kafka transport, a handler receives a whole MessageBatch with binary
// values untouched, and its promise decides the commit (see queue.port.ts).

export interface QueueTransportOptions {
  maxBatchSize: number;
  /** value bytes per handler call (one larger message still goes alone) */
  maxBatchBytes: number;
  retry?: Partial<RetryPolicy>;
}

export class QueueTransport extends Server implements CustomTransportStrategy {
  private readonly subscriptions: Subscription[] = [];
  private readonly log = new Logger('QueueTransport');
  private joined = false;

  constructor(
    private readonly broker: QueueBroker,
    private readonly options: QueueTransportOptions,
  ) {
    super();
  }

  /** true once every declared topic has a running consumer */
  get consumersJoined(): boolean {
    return this.joined;
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      for (const [pattern, handler] of this.getHandlers()) {
        const topic = pattern;
        const groupId = (CONSUMER_GROUPS as Record<string, string>)[topic];
        if (!groupId) throw new Error(`no consumer group is defined for topic ${topic}`);
        const sub = await this.broker.subscribe({
          topic,
          groupId,
          maxBatchSize: this.options.maxBatchSize,
          maxBatchBytes: this.options.maxBatchBytes,
          deadLetterTopic: (DEAD_LETTER_TOPICS as Record<string, string>)[topic],
          retry: this.options.retry,
          handler: async (batch: MessageBatch) => {
            const result = await handler(batch);
            await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
          },
        });
        this.subscriptions.push(sub);
        this.log.log(`consuming ${topic} as group ${groupId} on ${this.broker.kind}`);
      }
      this.joined = true;
      callback();
    } catch (err) {
      callback(err);
    }
  }

  async close(): Promise<void> {
    this.joined = false;
    const subs = this.subscriptions.splice(0);
    await Promise.allSettled(subs.map((s) => s.close()));
  }

  on(): never {
    throw new Error('QueueTransport has no events to listen to');
  }

  unwrap<T>(): T {
    return this.broker as T;
  }
}
