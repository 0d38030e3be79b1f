import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '@assetops/platform';

/** 413: the request body is larger than the gateway forwards. */
export class BodyTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('BODY_TOO_LARGE', `the request body exceeds ${limitBytes} bytes`, 413);
  }
}

/**
 * Passes bytes through unchanged and fails with {@link BodyTooLargeError} once more than
 * `limitBytes` went by. Proxied bodies are streamed, so Fastify's own `bodyLimit` (which applies to
 * the bodies it buffers and parses) does not see them; a chunked body has no `content-length` to
 * check up front, so the count is the only guard.
 *
 * @example
 * pipeline(request.raw, new ByteLimit(16 * 1024 * 1024), upstreamRequest, onDone);
 */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limitBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limitBytes) callback(new BodyTooLargeError(this.limitBytes));
    else callback(null, chunk);
  }
}
