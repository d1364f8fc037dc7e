// Cairn SDK: consent platform adapters (IAB TCF v2.2, Google Consent Mode v2),
// loaded by `cairn.js` only when `load(key, {consent: 'tcf' | 'google'})`.
// `c` is the wasm instance; `started()` lets the SDK start recording;
// `decided(sendNow)` takes a decision into effect as a visitor's choice would.

// Consent platforms (`load(key, {consent: 'tcf' | 'google'})`) are the source
// of truth: each of their decisions replaces the one before, nothing Cairn
// stored overrides them, and until the first one opt-in holds. The SDK starts
// recording once the platform has answered (at most `maxWait` ms), so that a
// returning visitor's decision brings back their identifiers first.
const guard = (fn) => (...args) => {
  try {
    fn(...args);
  } catch (e) {
    console.warn('cairn:', e);
  }
};

// IAB TCF v2.2: listen to `__tcfapi` (its stub may come after this module,
// so it is looked for every 100 ms for 10 s). `tcloaded` (a stored decision)
// and `useractioncomplete` (a new one) carry the purpose consents; any answer
// (also `cmpuishown`: no decision yet) means the platform is there.
export function tcf(c, started, decided) {
  let tries = 0;
  const listen = () => {
    if (typeof window.__tcfapi !== 'function') return ++tries < 100 && setTimeout(listen, 100);
    window.__tcfapi(
      'addEventListener',
      2,
      guard((d, ok) => {
        if (!ok || !d) return;
        if (d.eventStatus === 'tcloaded' || d.eventStatus === 'useractioncomplete') {
          decided(c.setConsentTcf(d.purpose && d.purpose.consents, d.gdprApplies !== false));
        }
        started();
      }),
    );
  };
  listen();
}

// Google Consent Mode v2: the `['consent', 'default' | 'update', {...}]`
// commands (gtag's `arguments` or arrays) in `window.dataLayer`, read now and
// then on each `dataLayer.push`. Updates override defaults, later keys
// override earlier ones. A default for some regions only (`region: [...]`)
// can only deny: Cairn does not know where the visitor is. A default with
// `wait_for_update` makes the SDK wait as long for an update (at most `maxWait`).
export function google(c, started, decided, maxWait) {
  const dl = (window.dataLayer = window.dataLayer || []);
  const defaults = {};
  const regional = {};
  const updates = {};
  let wait = 0;
  const read = (e) => {
    if (!e || typeof e !== 'object' || e[0] !== 'consent' || !e[2] || typeof e[2] !== 'object') return false;
    const update = e[1] === 'update';
    if (!update && e[1] !== 'default') return false;
    for (const [k, v] of Object.entries(e[2])) {
      if (update) updates[k] = v;
      else if (!e[2].region) defaults[k] = v;
      else if (v !== 'granted') regional[k] = v;
    }
    if (!update) wait = Math.max(wait, Number(e[2].wait_for_update) || 0);
    return true;
  };
  const apply = (any) => {
    const chosen = Object.keys(updates).length > 0;
    const state = { ...defaults, ...regional, ...updates };
    for (const k in state) state[k] = state[k] === 'granted';
    if (any) decided(c.setConsentGoogle(state, chosen));
    if (chosen || !wait) started();
  };
  apply(Array.from(dl).map(read).includes(true));
  setTimeout(started, Math.min(wait, maxWait));
  const push = dl.push;
  dl.push = function (...entries) {
    const result = push.apply(this, entries);
    guard(() => apply(entries.map(read).includes(true)))();
    return result;
  };
}
