// Cairn SDK loader (ES module). The snippet defines `window.cairn` as a queue
// of calls; this module starts the wasm SDK, replays the queue in order and
// then replaces the queue with the live API. The wasm side keeps the state
// and decides; this file owns the timers and the network calls.
import init, { Cairn } from './cairn_sdk.js';

await init({ module_or_path: new URL('./cairn_sdk_bg.wasm', import.meta.url) });

const BATCH_BYTES = 60 * 1024; // keepalive requests and beacons must stay under 64 KiB
let instance = null;
let timer = 0;
let sending = false;
const pending = [];
const json = (v) => (v == null ? '' : JSON.stringify(v));
const call = (fn) => (instance ? fn(instance) : (pending.push(fn), undefined));

function later(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => ((timer = 0), send()), ms);
}

// Sends batches one at a time until the queue is empty or a retry is due.
async function send() {
  if (sending || !instance) return;
  sending = true;
  try {
    for (let body; (body = instance.takeBatch(BATCH_BYTES)); ) {
      let status, retryAfter;
      try {
        const res = await fetch(instance.endpoint(), { method: 'POST', body, keepalive: true });
        status = res.status;
        retryAfter = res.headers.get('retry-after') ?? undefined;
      } catch {
        // network error: no status, retried with backoff
      }
      const next = instance.ack(status, retryAfter, Math.random());
      if (next > 0) return later(next);
    }
  } finally {
    sending = false;
  }
}

// A recording call: send now when the queue is due, else within 5 s.
const record = (fn) =>
  call((c) => {
    if (fn(c)) send();
    else if (!timer) later(5000);
  });

// When the page goes away, what is left goes out with sendBeacon.
function leave() {
  if (!instance) return;
  for (let body; (body = instance.drainForBeacon(BATCH_BYTES)); ) {
    if (!navigator.sendBeacon(instance.endpoint(), body)) {
      fetch(instance.endpoint(), { method: 'POST', body, keepalive: true }).catch(() => {});
    }
  }
}
addEventListener('pagehide', leave);
document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && leave());

// The visitor's consent choice is kept (it is strictly necessary to honour
// it), but only once they have made one: before that, nothing is stored.
const CONSENT_KEY = 'cairn.consent';
const listeners = [];
function readChoice() {
  try {
    return localStorage.getItem(CONSENT_KEY);
  } catch {
    return null;
  }
}

// Identifiers are kept on the device (localStorage, plus a first-party
// cookie for the anonymousId) only while consent allows storage.
const AID = 'cairn.anonymousId';
const UID = 'cairn.userId';
const COOKIE = 'cairn_aid';
function cookieValue() {
  const m = document.cookie.match(/(?:^|; )cairn_aid=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}
function keepIds() {
  if (!instance) return;
  if (!instance.storageAllowed()) return forgetIds();
  const aid = instance.anonymousId();
  const uid = instance.userId();
  try {
    localStorage.setItem(AID, aid);
    if (uid) localStorage.setItem(UID, uid);
    else localStorage.removeItem(UID);
  } catch {
    // storage unavailable: the cookie still keeps the anonymousId
  }
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${encodeURIComponent(aid)}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}
function forgetIds() {
  try {
    localStorage.removeItem(AID);
    localStorage.removeItem(UID);
  } catch {
    // nothing stored
  }
  if (cookieValue() !== null) document.cookie = `${COOKIE}=; Path=/; Max-Age=0`;
}
function restoreIds() {
  if (!instance.storageAllowed()) return;
  let aid = null;
  let uid = null;
  try {
    aid = localStorage.getItem(AID);
    uid = localStorage.getItem(UID);
  } catch {
    // fall back to the cookie
  }
  aid = aid || cookieValue();
  if (aid) instance.restore(aid, uid || undefined);
}

const consent = {
  // set({analytics: true, marketing: false, ...}); categories not named keep their value.
  set(preferences) {
    return call((c) => {
      const now = c.setConsent(JSON.stringify(preferences || {}));
      const state = JSON.parse(c.getConsent());
      try {
        localStorage.setItem(CONSENT_KEY, JSON.stringify(state.categoryPreferences));
      } catch {
        // storage unavailable: the choice holds for this page only
      }
      keepIds();
      listeners.forEach((cb) => cb(state));
      if (now) send();
    });
  },
  // {chosen, categoryPreferences}
  get: () => call((c) => JSON.parse(c.getConsent())),
  onChange(cb) {
    if (typeof cb === 'function') listeners.push(cb);
  },
};

// Single-page apps change the URL without loading a page: each change is a
// page view (unless `autocapture: {history: false}`).
let lastUrl = location.href;
function watchHistory() {
  const changed = () => {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    api.page();
  };
  for (const method of ['pushState', 'replaceState']) {
    const original = history[method];
    history[method] = function (...args) {
      const result = original.apply(this, args);
      changed();
      return result;
    };
  }
  addEventListener('popstate', changed);
}

const api = {
  load(writeKey, options = {}) {
    if (instance) return api;
    instance = new Cairn(String(writeKey), options.apiHost || '', options.consent || 'opt-in');
    if ((options.autocapture || {}).history !== false) watchHistory();
    const stored = readChoice();
    if (stored) instance.setConsent(stored);
    restoreIds();
    pending.splice(0).forEach((fn) => fn(instance));
    return api;
  },
  consent,
  track: (event, properties) => record((c) => c.track(String(event), json(properties))),
  page: (name, properties) => {
    if (typeof name === 'object' && name !== null) [name, properties] = [undefined, name];
    return record((c) => c.page(name == null ? undefined : String(name), json(properties)));
  },
  identify: (userId, traits) => {
    if (typeof userId === 'object' && userId !== null) [userId, traits] = [undefined, userId];
    record((c) => c.identify(userId == null ? undefined : String(userId), json(traits)));
    call(keepIds);
  },
  alias: (userId, previousId) => {
    record((c) => c.alias(String(userId), previousId == null ? undefined : String(previousId)));
    call(keepIds);
  },
  group: (groupId, traits) => record((c) => c.group(String(groupId), json(traits))),
  reset: () =>
    call((c) => {
      c.reset();
      keepIds();
    }),
  user: () => call((c) => ({ anonymousId: c.anonymousId(), userId: c.userId() ?? null })),
  // Sends what is queued now; resolves when the queue is empty or waits for a retry.
  flush: () => call(() => send()),
  ready(cb) {
    call(() => cb && cb(api));
  },
};

// Read the queue only now: calls made while the wasm was loading are in it.
// From here to the end everything is synchronous, so no call can slip between.
const queued = Array.isArray(window.cairn) ? window.cairn.slice() : [];
window.cairn = api;
for (const [method, ...args] of queued) {
  if (typeof api[method] === 'function') api[method](...args);
}
