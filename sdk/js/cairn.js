// Cairn SDK loader (ES module). The snippet defines `window.cairn` as a queue
// of calls; this module starts the wasm SDK, replays the queue in order and
// then replaces the queue with the live API.
import init, { Cairn } from './cairn_sdk.js';

await init({ module_or_path: new URL('./cairn_sdk_bg.wasm', import.meta.url) });

let instance = null;
const pending = [];
const json = (v) => (v == null ? '' : JSON.stringify(v));
const call = (fn) => (instance ? fn(instance) : (pending.push(fn), undefined));

const api = {
  load(writeKey, options = {}) {
    if (instance) return api;
    instance = new Cairn(String(writeKey), options.apiHost || '');
    pending.splice(0).forEach((fn) => fn(instance));
    return api;
  },
  track: (event, properties) => call((c) => c.track(String(event), json(properties))),
  page: (name, properties) => {
    if (typeof name === 'object' && name !== null) [name, properties] = [undefined, name];
    return call((c) => c.page(name == null ? undefined : String(name), json(properties)));
  },
  identify: (userId, traits) => {
    if (typeof userId === 'object' && userId !== null) [userId, traits] = [undefined, userId];
    return call((c) => c.identify(userId == null ? undefined : String(userId), json(traits)));
  },
  alias: (userId, previousId) =>
    call((c) => c.alias(String(userId), previousId == null ? undefined : String(previousId))),
  group: (groupId, traits) => call((c) => c.group(String(groupId), json(traits))),
  reset: () => call((c) => c.reset()),
  user: () => call((c) => ({ anonymousId: c.anonymousId(), userId: c.userId() ?? null })),
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
