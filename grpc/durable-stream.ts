import { randomUUID } from 'node:crypto';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { AsyncTaskQueue, GenkitError, type ActionStreamInput } from 'genkit/beta';
import type { DurableStreams } from '../server/streams/durable-streams.js';

/** Metadata key naming a stream: sent in the initial metadata of every `<Flow>Stream` call, read to resume one. */
export const STREAM_ID_METADATA = 'x-genkit-stream-id';
/** With `x-genkit-stream-id`: `true` cancels that stream's flow first (the resume then ends with CANCELLED). */
export const STREAM_CANCEL_METADATA = 'x-genkit-stream-cancel';

/**
 * One `<Flow>Stream` call as a durable stream (the gRPC side of the REST
 * protocol's `x-genkit-stream-id`):
 * - a new call gets a stream id in its initial metadata, and its flow keeps
 *   running when the client cancels or its connection drops (a resume finds
 *   every chunk); the call's deadline still stops it;
 * - a call with `x-genkit-stream-id` metadata replays that stream from its
 *   first chunk, on any replica, then ends with its result or error
 *   (NOT_FOUND when the id is unknown or expired); with
 *   `x-genkit-stream-cancel: true` as well, the stream's flow is cancelled
 *   first (the explicit cancel; REST's is `DELETE /<flow>`).
 */
export class DurableRpc {
  /** The stream to replay, when the client asked to resume one. */
  readonly resumeId: string | undefined;
  private readonly controller = new AbortController();
  private readonly queue = new AsyncTaskQueue();

  constructor(
    private readonly call: ServerWritableStream<unknown, unknown>,
    private readonly streams: DurableStreams,
    private readonly flowName: string,
    callSignal: AbortSignal,
  ) {
    const value = call.metadata.get(STREAM_ID_METADATA)[0];
    this.resumeId = typeof value === 'string' && value ? value : undefined;
    const onAbort = () => {
      if ((callSignal.reason as Partial<GenkitError> | undefined)?.status === 'DEADLINE_EXCEEDED') this.controller.abort(callSignal.reason);
    };
    if (callSignal.aborted) onAbort();
    else callSignal.addEventListener('abort', onAbort, { once: true });
  }

  /** The flow's signal: a cancel of the stream or the call's deadline, not the client going away. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts the stream and sends its id; the returned writer never rejects. */
  async open(): Promise<{ write(chunk: unknown): void; done(result: unknown): Promise<void>; error(e: unknown): Promise<void> }> {
    const id = randomUUID();
    const metadata = new Metadata();
    metadata.set(STREAM_ID_METADATA, id);
    this.call.sendMetadata(metadata);
    const input: ActionStreamInput<unknown, unknown> = await this.streams.forCall(this.flowName, this.controller).open(id);
    return {
      write: (chunk) => this.queue.enqueue(() => input.write(chunk)),
      done: async (result) => {
        this.queue.enqueue(() => input.done(result));
        await this.queue.merge();
      },
      error: async (e) => {
        this.queue.enqueue(() => input.error(e));
        await this.queue.merge();
      },
    };
  }

  /** Replays the stream `resumeId` into the call: every chunk, then the result; rejects with the stream's error. */
  async resume(encode: (message: { chunk: unknown } | { result: unknown }) => unknown): Promise<void> {
    const { call } = this;
    if (call.metadata.get(STREAM_CANCEL_METADATA)[0] === 'true') await this.streams.cancel(this.flowName, this.resumeId!);
    return new Promise<void>((resolve, reject) => {
      this.streams
        .forCall(this.flowName, this.controller)
        .subscribe(this.resumeId!, {
          onChunk: (chunk) => {
            if (!call.cancelled) call.write(encode({ chunk }));
          },
          onDone: (result) => {
            if (!call.cancelled) {
              call.write(encode({ result }));
              call.end();
            }
            resolve();
          },
          onError: reject,
        })
        .then((subscription) => {
          call.once('cancelled', () => {
            subscription.unsubscribe();
            resolve();
          });
        }, reject);
    });
  }
}
