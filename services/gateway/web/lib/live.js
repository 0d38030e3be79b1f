// Live updates from the dashboard's Server-Sent Events stream. EventSource cannot send an
// Authorization header, so the stream is read with fetch() and a ReadableStream reader, parsed
// here, and reopened with exponential backoff (1 s doubling to 30 s, with jitter) when it drops.

import { getToken } from './api.js';

const STREAM_URL = '/api/v1/dashboard/stream';
const subscribers = new Set();
const statusListeners = new Set();
let controller;
let status = 'idle';
let lastEventId;

function setStatus(next) {
  status = next;
  for (const listener of statusListeners) listener(next);
}

/** `live` | `connecting` | `offline` | `idle`. */
export function liveStatus() {
  return status;
}

export function onLiveStatus(listener) {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

/** Calls `listener({ type, data })` for each event (`asset`, `fleet`, …); returns the unsubscribe. */
export function subscribe(listener) {
  subscribers.add(listener);
  return () => subscribers.delete(listener);
}

/**
 * Splits an SSE byte stream into events (the WHATWG rules that matter here: `event:`, `data:`
 * lines joined by newlines, `id:`, comments ignored, an empty line ends an event).
 */
export function createSseParser(onEvent) {
  let buffer = '';
  let event = { type: 'message', data: [], id: undefined };
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (event.data.length > 0) onEvent({ type: event.type, data: event.data.join('\n'), id: event.id });
        event = { type: 'message', data: [], id: undefined };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event.type = value;
      else if (field === 'data') event.data.push(value);
      else if (field === 'id') event.id = value;
    }
  };
}

function dispatch(raw) {
  if (raw.id) lastEventId = raw.id;
  let data;
  try {
    data = JSON.parse(raw.data);
  } catch {
    data = raw.data;
  }
  for (const listener of subscribers) {
    try {
      listener({ type: raw.type, data });
    } catch (err) {
      console.error('live listener failed', err);
    }
  }
}

/** Opens the stream (once) and keeps it open until {@link stopLive}. */
export function startLive() {
  if (controller) return;
  controller = new AbortController();
  const { signal } = controller;
  let attempt = 0;
  const run = async () => {
    while (!signal.aborted) {
      setStatus('connecting');
      try {
        const headers = { accept: 'text/event-stream', authorization: `Bearer ${getToken()}` };
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const response = await fetch(STREAM_URL, { headers, signal, cache: 'no-store' });
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        setStatus('live');
        attempt = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parse = createSseParser(dispatch);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parse(value);
        }
      } catch (err) {
        if (signal.aborted) return;
        console.debug('live stream interrupted', err);
      }
      if (signal.aborted) return;
      setStatus('offline');
      const delay = Math.min(30_000, 1_000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      attempt = Math.min(attempt + 1, 5);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  run();
}

export function stopLive() {
  controller?.abort();
  controller = undefined;
  setStatus('idle');
}
