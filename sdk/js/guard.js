// Cairn SDK: the guard, loaded by `cairn.js` only when the source's settings
// carry privacy rules for the browser. It runs them (cairn-core's privacy
// stage, in a wasm module of its own) on each batch before it is sent.
import init, { Guard } from './cairn_sdk_guard.js';

// The source's `privacy` settings object -> a function from a request body to
// the body to send ('' when every message in it was dropped).
export async function guard(rules) {
  await init({ module_or_path: new URL('./cairn_sdk_guard_bg.wasm', import.meta.url) });
  let g;
  try {
    g = new Guard(JSON.stringify(rules));
  } catch (e) {
    // Rules this version of the SDK cannot read (a newer worker): not applied
    // in the browser. The worker applies them all to what arrives.
    console.warn('cairn: privacy rules not applied in the browser:', e);
    return null;
  }
  return (body) => g.screen(body);
}
