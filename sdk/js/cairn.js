// Cairn SDK loader (ES module). The snippet defines `window.cairn` as a queue
// of calls; this module starts the wasm SDK, replays the queue in order and
// then replaces the queue with the live API. Bundlers import the same module:
// `import cairn from '@cairn/sdk'`. The wasm side keeps the state and
// decides; this file reads the DOM, owns the timers, storage and the network.
import init, { Cairn, scrub } from './cairn_sdk.js';

const wasm = init({ module_or_path: new URL('./cairn_sdk_bg.wasm', import.meta.url) });

const BATCH_BYTES = 60 * 1024; // keepalive requests and beacons must stay under 64 KiB
const PREFIX = 'cairn.';
const CONSENT_KEY = PREFIX + 'consent';
const AID = PREFIX + 'anonymousId';
const UID = PREFIX + 'userId';
const QUEUE = PREFIX + 'queue.';
const COOKIE = 'cairn_aid';
let instance = null;
let endpoint = '';
let host = '';
let key = '';
let loading = false;
let capture = {};
let timer = 0;
let sending = false;
let platform = ''; // 'tcf' or 'google' when a consent platform decides
const pending = [];
const listeners = [];
const tab = QUEUE + Math.random().toString(36).slice(2);
const json = (v) => (v == null ? '' : JSON.stringify(v));
const call = (fn) => (instance ? fn(instance) : (pending.push(fn), undefined));
const str = (v) => (v == null ? undefined : String(v));
const store = {
  get: (k) => {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set: (k, v) => {
    try {
      localStorage.setItem(k, v);
    } catch {
      // storage full or unavailable: this page still works
    }
  },
  remove: (k) => {
    try {
      localStorage.removeItem(k);
    } catch {
      // nothing stored
    }
  },
  keys: (prefix) => {
    try {
      return Object.keys(localStorage).filter((k) => k.startsWith(prefix));
    } catch {
      return [];
    }
  },
};

let backingOff = false;
function later(ms, retry) {
  clearTimeout(timer);
  backingOff = !!retry;
  timer = setTimeout(() => ((timer = 0), (backingOff = false), send()), ms);
}

// keepalive lets a request outlive the page, but the browser allows only
// 64 KiB of keepalive bodies in flight; when that is full the request fails at
// once, so it goes again as a plain one. The response is read to the end,
// which is when the browser counts its body out.
async function post(body) {
  let res;
  try {
    res = await fetch(endpoint, { method: 'POST', body, keepalive: true });
  } catch {
    res = await fetch(endpoint, { method: 'POST', body });
  }
  await res.text().catch(() => {});
  return res;
}

// The source's privacy rules for the browser, from its settings: a function
// that screens a body (see `guard.js`), or null when the source has none, in
// which case the guard module is never fetched. Asked for once sending is
// allowed (never before consent), refreshed in the background every 5
// minutes; until they are known nothing is sent.
let screen;
let screening = null;
let rulesAt = 0;
const RULES_TTL = 300000;
const analytics = () => JSON.parse(instance.getConsent()).categoryPreferences.analytics === true;
function rules() {
  screening ||= fetch(`${host}/v1/projects/${encodeURIComponent(key)}/settings`)
    .then((r) => {
      if (r.ok) return r.json();
      // Retried as a batch would be; any other answer (a wrong key, a worker
      // without this endpoint) means there are no rules to apply here.
      if (r.status >= 500 || r.status === 408 || r.status === 429) throw r.status;
      return {};
    })
    .then((s) => (s.privacy ? import('./guard.js').then((m) => m.guard(s.privacy)) : null))
    .then((fn) => {
      screen = fn;
      rulesAt = Date.now();
    })
    .finally(() => (screening = null));
  return screening;
}
// Once sending is allowed, so that a page left soon after loading can still beacon.
function prefetch() {
  const stale = screen !== undefined && Date.now() - rulesAt > RULES_TTL;
  if (instance && !screening && (screen === undefined || stale) && analytics()) rules().catch(() => {});
}

// Sends batches one at a time until the queue is empty or a retry is due.
async function send() {
  if (sending || !instance) return;
  sending = true;
  try {
    prefetch();
    if (screen === undefined) {
      if (!instance.pending() || !analytics()) return;
      try {
        await rules();
      } catch {
        // Waits like a failed batch (no batch was taken, so nothing is counted against one).
        const next = instance.ack(undefined, undefined, Math.random());
        return later(next > 0 ? next : 1000, true);
      }
    }
    // Batches are taken only now: consent withdrawn while the rules were on their way leaves nothing to take.
    for (let body; (body = instance.takeBatch(BATCH_BYTES)); ) {
      let status, retryAfter;
      try {
        if (screen) body = screen(body);
        // Nothing left once the rules have run: done, as if delivered.
        const res = body ? await post(body) : { status: 200, headers: new Headers() };
        status = res.status;
        retryAfter = res.headers.get('retry-after') ?? undefined;
      } catch {
        // network error: no status, retried with backoff
      }
      const next = instance.ack(status, retryAfter, Math.random());
      saveSoon();
      if (next > 0) return later(next, true);
    }
  } finally {
    sending = false;
  }
}

// What is not delivered yet is kept in localStorage (only while consent
// allows storage) under this tab's key, so it survives a reload or the API
// being down. `closed` marks it as left for the next page to take over.
function save(closed) {
  clearTimeout(saveTimer);
  saveTimer = 0;
  if (!instance || !instance.storageAllowed()) return;
  const saved = instance.saved();
  if (saved) store.set(tab, (closed ? 0 : Date.now()) + '\n' + saved);
  else if (!closed) store.remove(tab); // a second pagehide/hidden keeps what the first saved
}
// Saving rewrites the whole queue, so calls in a burst save once, a moment
// later; leaving the page saves at once.
let saveTimer = 0;
const saveSoon = () => saveTimer || (saveTimer = setTimeout(save, 50));

// Takes over the queues of pages that are gone: closed ones, or ones not
// written for a minute (a tab that was killed).
function adopt() {
  if (!instance.storageAllowed()) return;
  for (const key of store.keys(QUEUE)) {
    const value = store.get(key) || '';
    const cut = value.indexOf('\n');
    if (key === tab || Date.now() - Number(value.slice(0, cut)) < 60000) continue;
    store.remove(key);
    if (instance.loadSaved(value.slice(cut + 1))) send();
  }
  save();
}

// A recording call: send now when the queue is due, else within 5 s.
const record = (fn) =>
  call((c) => {
    try {
      // While a retry waits out its backoff, new calls wait with it.
      if (fn(c) && !backingOff) send();
      else if (!timer) later(5000);
      saveSoon();
    } catch (e) {
      console.warn('cairn:', e);
    }
  });

// When the page goes away, what is left goes out with sendBeacon. A beacon
// has no answer, so the queue is saved first, beaconed messages included:
// the next page sends them again, and the server keeps each messageId once.
// Until the source's rules are known nothing is beaconed: the saved queue
// goes with the next page.
function leave() {
  if (!instance) return;
  save(true);
  if (screen === undefined) return;
  for (let body; (body = instance.drainForBeacon(BATCH_BYTES)); ) {
    try {
      if (screen && !(body = screen(body))) continue;
    } catch (e) {
      return console.warn('cairn:', e); // the saved queue goes with the next page
    }
    if (!navigator.sendBeacon(endpoint, body)) {
      fetch(endpoint, { method: 'POST', body, keepalive: true }).catch(() => {});
    }
  }
}
addEventListener('pagehide', leave);
document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && leave());

// Identifiers are kept on the device (localStorage, plus a first-party
// cookie for the anonymousId) only while consent allows storage.
function cookieValue() {
  const m = document.cookie.match(/(?:^|; )cairn_aid=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : null;
}
function keepIds() {
  if (!instance) return;
  if (!instance.storageAllowed()) return forget();
  const uid = instance.userId();
  store.set(AID, instance.anonymousId());
  if (uid) store.set(UID, uid);
  else store.remove(UID);
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${encodeURIComponent(instance.anonymousId())}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}
// Consent withdrawn: identifiers and saved queues go.
function forget() {
  [AID, UID, ...store.keys(QUEUE)].forEach(store.remove);
  if (cookieValue() !== null) document.cookie = `${COOKIE}=; Path=/; Max-Age=0`;
}
function restoreIds() {
  if (!instance.storageAllowed()) return;
  const aid = store.get(AID) || cookieValue();
  if (aid) instance.restore(aid, store.get(UID) || undefined);
}

// Every consent change ends here, whether the visitor chose on the site's
// banner (`consent.set`) or a consent platform decided: identifiers are kept
// or removed, the queue saved (or, withdrawn, dropped by the wasm and
// removed here), listeners told, and what is now allowed sent. `sendNow` is
// the wasm's answer to the change.
function decided(c, sendNow) {
  const state = JSON.parse(c.getConsent());
  // The visitor's own choice is kept (it is strictly necessary to honour
  // it), but only once they have made one. A consent platform keeps its own.
  if (!platform) store.set(CONSENT_KEY, JSON.stringify(state.categoryPreferences));
  keepIds();
  save();
  listeners.forEach((cb) => cb(state));
  prefetch();
  if (sendNow) send();
}

const consent = {
  // set({analytics: true, marketing: false, ...}); categories not named keep their value.
  set(preferences) {
    if (platform) return console.warn(`cairn: consent comes from the consent platform (${platform}); set() is ignored`);
    return call((c) => decided(c, c.setConsent(preferences || {})));
  },
  // {chosen, categoryPreferences}
  get: () => call((c) => JSON.parse(c.getConsent())),
  onChange(cb) {
    if (typeof cb === 'function') listeners.push(cb);
  },
};

// Consent platforms (`load(key, {consent: 'tcf' | 'google'})`) are the source
// of truth: their adapters are in `platforms.js`, loaded only by sites that
// use one. Until a platform answers (at most CMP_WAIT ms) opt-in holds and
// the SDK does not start recording, so that a returning visitor's decision
// brings back their identifiers first.
const CMP_WAIT = 3000;

// Autocapture reads these attributes (see the README):
// data-cairn-product / -cart / -order scopes, data-cairn-view,
// data-cairn-action, data-cairn-event with data-cairn-prop-*, data-cairn-ignore.
const NUMBERS = /^(price|quantity|total|revenue|value|subtotal|tax|shipping|discount|position)$/;
const RENAME = { product: 'product_id', cart: 'cart_id', order: 'order_id' };
const NOT_PROPS = /^(view|action|event|ignore)$/;
function props(el, only) {
  const p = {};
  for (const { name, value } of el.attributes) {
    if (!name.startsWith('data-cairn-')) continue;
    let key = name.slice(11);
    if (only ? !key.startsWith('prop-') : NOT_PROPS.test(key) || key.startsWith('prop-')) continue;
    key = only ? key.slice(5) : key;
    key = RENAME[key] || key.replace(/-/g, '_');
    p[key] = NUMBERS.test(key) && value !== '' && isFinite(value) ? Number(value) : value;
  }
  return p;
}
function product(el) {
  const p = props(el);
  const input = el.querySelector('input[data-cairn-quantity]');
  if (input) p.quantity = Number(input.value) || 1;
  return p;
}
const products = (scope) => [...scope.querySelectorAll('[data-cairn-product]')].map(product);
const cart = (scope) => (scope ? { ...props(scope), products: products(scope) } : {});
const VIEWS = { product: 'Product Viewed', cart: 'Cart Viewed', order: 'Order Completed' };
const ACTIONS = { 'add-to-cart': 'Product Added', 'remove-from-cart': 'Product Removed', checkout: 'Checkout Started' };

// The commerce views of the page, with each page view.
function views() {
  if (capture.commerce === false) return;
  for (const el of document.querySelectorAll('[data-cairn-view]')) {
    const event = VIEWS[el.dataset.cairnView];
    if (event) api.track(event, el.hasAttribute('data-cairn-product') ? product(el) : cart(el));
  }
}

function selector(el) {
  const parts = [];
  for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
    if (e.id) {
      parts.unshift('#' + e.id);
      break;
    }
    const cls = [...e.classList].slice(0, 2).map((c) => '.' + c).join('');
    parts.unshift(e.localName + cls);
  }
  return parts.join(' > ');
}

// Clicks on links, buttons and marked elements, read in the capture phase,
// before the page's own handlers change the DOM.
function onClick(e) {
  const el = e.target.closest && e.target.closest('a[href],button,input[type=submit],input[type=button],[role=button],[data-cairn-event],[data-cairn-action]');
  if (!el || el.closest('[data-cairn-ignore]')) return;
  const scope = el.closest('[data-cairn-product]');
  const named = el.dataset.cairnEvent;
  const action = ACTIONS[el.dataset.cairnAction];
  if (named) return api.track(named, { ...(scope && product(scope)), ...props(el, true) });
  if (action && capture.commerce !== false) {
    const owner = el.closest('[data-cairn-cart]') || document.querySelector('[data-cairn-cart]');
    if (action === ACTIONS.checkout) return api.track(action, cart(owner));
    return api.track(action, { ...(owner && { cart_id: owner.dataset.cairnCart }), ...(scope && product(scope)) });
  }
  if (capture.clicks === false) return;
  const p = { element: el.localName, selector: selector(el), text: scrub((el.innerText || el.value || '').trim().slice(0, 255)) };
  if (el.id) p.id = el.id;
  if (el.href) p.href = el.origin + el.pathname;
  api.track('Element Clicked', p);
}

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

function start(writeKey, options) {
  const auto = options.autocapture;
  capture = auto === false ? { history: false, clicks: false, commerce: false } : auto || {};
  host = String(options.apiHost || location.origin).replace(/\/+$/, '');
  endpoint = host + '/v1/batch';
  key = String(writeKey);
  const mode = options.consent || 'opt-in';
  platform = mode === 'tcf' || mode === 'google' ? mode : '';
  const c = new Cairn(key, mode);
  if (capture.history !== false) watchHistory();
  document.addEventListener('click', onClick, true);
  // Calls made until `started` wait in `pending`, in order.
  const started = () => {
    if (instance) return;
    instance = c;
    restoreIds();
    if (platform) keepIds();
    adopt();
    prefetch();
    pending.splice(0).forEach((fn) => fn(instance));
  };
  if (!platform) {
    const stored = store.get(CONSENT_KEY);
    if (stored) c.setConsent(JSON.parse(stored));
    return started();
  }
  setTimeout(started, CMP_WAIT);
  import('./platforms.js')
    .then((adapters) => adapters[platform](c, started, (sendNow) => decided(c, sendNow), CMP_WAIT))
    .catch((e) => console.warn('cairn: consent platform adapter', e));
}

const api = {
  // load(writeKey, {apiHost, consent: 'opt-in' | 'opt-out' | 'tcf' | 'google', autocapture: {history, clicks, commerce} | false})
  load(writeKey, options = {}) {
    if (loading) return api;
    loading = true;
    wasm.then(() => start(writeKey, options)).catch((e) => console.warn('cairn: could not start', e));
    return api;
  },
  consent,
  track: (event, properties) => record((c) => c.track(String(event), json(properties))),
  page: (name, properties) => {
    if (typeof name === 'object' && name !== null) [name, properties] = [undefined, name];
    record((c) => c.page(str(name), json(properties)));
    call(() => (document.readyState === 'loading' ? addEventListener('DOMContentLoaded', views) : setTimeout(views)));
  },
  identify: (userId, traits) => {
    if (typeof userId === 'object' && userId !== null) [userId, traits] = [undefined, userId];
    record((c) => c.identify(str(userId), json(traits)));
    call(keepIds);
  },
  alias: (userId, previousId) => {
    record((c) => c.alias(str(userId), str(previousId)));
    call(keepIds);
  },
  group: (groupId, traits) => record((c) => c.group(String(groupId), json(traits))),
  reset: () =>
    call((c) => {
      c.reset();
      keepIds();
    }),
  user: () => call((c) => ({ anonymousId: c.anonymousId(), userId: c.userId() ?? null })),
  // The visitor's traits and audiences that this source may show, for
  // personalization; null without personalization consent or a profile yet.
  profile: () =>
    new Promise((resolve) =>
      call((c) => {
        if (!JSON.parse(c.getConsent()).categoryPreferences.personalization) return resolve(null);
        const q = new URLSearchParams({ writeKey: key, anonymousId: c.anonymousId() });
        fetch(`${host}/v1/profile?${q}`)
          .then((r) => (r.ok ? r.json() : { profile: null }))
          .then((b) => resolve(b.profile), () => resolve(null));
      }),
    ),
  // Sends what is queued now; resolves when the queue is empty or waits for a retry.
  flush: () => call(() => send()),
  ready(cb) {
    call(() => cb && cb(api));
  },
};

// Read the queue only now: calls made while this module was loading are in
// it. From here to the end everything is synchronous, so no call can slip between.
const queued = Array.isArray(window.cairn) ? window.cairn.slice() : [];
window.cairn = api;
for (const [method, ...args] of queued) {
  if (typeof api[method] === 'function') api[method](...args);
}

export default api;
