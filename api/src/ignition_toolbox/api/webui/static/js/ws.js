// One reconnecting WebSocket to /ws/executions for the whole page.
// Backoff doubles from 1 s to 30 s with jitter; a ping every 15 s, and a missing pong within
// 10 s counts as a dead connection. Listeners get 'message' (parsed JSON) and 'state' events.

import { getKey } from './auth.js';

const PING_EVERY_MS = 15000;
const PONG_TIMEOUT_MS = 10000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30000;
const MAX_CACHED_FRAMES = 16;

export class LiveSocket extends EventTarget {
  constructor(path = '/ws/executions') {
    super();
    this.path = path;
    this.ws = null;
    this.state = 'connecting'; // connecting | online | offline
    this.retryAt = null;
    this.attempt = 0;
    this.stopped = false;
    this._retryTimer = null;
    this._pingTimer = null;
    this._pongTimer = null;
    // The newest screenshot frame of recent executions, so a view opened mid-run shows one at once.
    this.lastFrames = new Map();
    // False while the server wants a key the tab does not have: retrying would only count as
    // failed logins against this address.
    this.canConnect = () => true;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const key = getKey();
    const query = key ? `?api_key=${encodeURIComponent(key)}` : '';
    return `${scheme}//${location.host}${this.path}${query}`;
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  // Close and connect again at once (after the key changed).
  restart() {
    this.stopped = false;
    this._teardown();
    this.attempt = 0;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this._teardown();
    this._setState('offline');
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  _setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, retryAt: this.retryAt } }));
  }

  _connect() {
    clearTimeout(this._retryTimer);
    this.retryAt = null;
    if (!this.canConnect()) {
      this.stopped = true;
      this._setState('offline');
      return;
    }
    this._setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this._setState('online');
      this._pingTimer = setInterval(() => this._ping(), PING_EVERY_MS);
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'pong') {
        clearTimeout(this._pongTimer);
        return;
      }
      if (message.type === 'screenshot_frame' && message.data) {
        const id = message.data.execution_id;
        this.lastFrames.delete(id);
        this.lastFrames.set(id, message.data.frame);
        if (this.lastFrames.size > MAX_CACHED_FRAMES) {
          this.lastFrames.delete(this.lastFrames.keys().next().value);
        }
      }
      this.dispatchEvent(new CustomEvent('message', { detail: message }));
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this._teardown();
      if (this.stopped) this._setState('offline');
      else this._scheduleRetry();
    });
  }

  _ping() {
    if (!this.send({ type: 'ping', timestamp: Date.now() })) return;
    clearTimeout(this._pongTimer);
    this._pongTimer = setTimeout(() => {
      // No pong: the connection is dead even if the browser has not noticed yet.
      const ws = this.ws;
      this._teardown();
      if (ws) ws.close();
      if (!this.stopped) this._scheduleRetry();
    }, PONG_TIMEOUT_MS);
  }

  _teardown() {
    clearInterval(this._pingTimer);
    clearTimeout(this._pongTimer);
    clearTimeout(this._retryTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }

  _scheduleRetry() {
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this._setState('offline');
    this._retryTimer = setTimeout(() => this._connect(), delay);
  }
}
