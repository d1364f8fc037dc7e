// Admin console: a small single page app over the admin API.
//
// Routes (in the hash): #/events[?userId=...] (the default), #/profiles,
// #/profiles/<id>, #/lookup?type=<t>&value=<v>, #/sources and #/sources/<id>. The admin token is kept for
// this tab only (sessionStorage). Everything the API returns is untrusted: the
// DOM is built with createElement/textContent, never with innerHTML.
'use strict';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'cairn.adminToken';
const KNOWN_TYPES = ['user_id', 'email', 'phone', 'anonymous_id'];
const CONSENT_CATEGORIES = ['necessary', 'analytics', 'marketing', 'personalization'];

// ---------------------------------------------------------------- DOM helpers

/** `el('td', {className: 'x'}, 'text', node, ...)`: strings become text nodes. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k in node) node[k] = v;
      else node.setAttribute(k, v);
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function cell(text, className) {
  return el('td', { className }, text ?? '');
}

/** A `<time>` for an API timestamp (shown as given: ISO 8601, UTC). */
function timeEl(value) {
  if (!value) return el('span', { className: 'muted' }, '–');
  return el('time', { dateTime: String(value) }, String(value));
}

/** A value for display: strings as they are, everything else as JSON. */
function show(value) {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function truncate(text, max) {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asArray(v) {
  return Array.isArray(v) ? v : [];
}

function jsonDetails(value, label = 'JSON') {
  let text;
  try {
    text = JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return el('details', { className: 'json' }, el('summary', null, label), el('pre', null, text));
}

/** Fills a tbody and shows the table or, when there are no rows, the "none" note after it. */
function fillTable(tbody, rows) {
  tbody.replaceChildren(...rows);
  const table = tbody.closest('table');
  const empty = table && table.nextElementSibling;
  if (table) table.hidden = rows.length === 0;
  if (empty && empty.classList.contains('empty')) empty.hidden = rows.length !== 0;
}

// ---------------------------------------------------------------- links

function profileHref(id) {
  return '#/profiles/' + encodeURIComponent(id);
}

function lookupHref(type, value) {
  return '#/lookup?' + new URLSearchParams({ type, value });
}

function profileLink(id, currentId) {
  const frag = el('span', null, el('a', { href: profileHref(id) }, el('code', null, id)));
  if (id === currentId) frag.append(' ', el('span', { className: 'this' }, '(this)'));
  return frag;
}

function identifierLink(type, value) {
  return el('a', { href: lookupHref(type, value), title: 'Find the profile with ' + type + ' ' + value }, value);
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** Asks for the token: highlights the token form and focuses its input. */
function askForToken(message) {
  const form = $('auth');
  form.classList.add('needed');
  $('auth-status').textContent = message;
  $('token').focus();
}

function tokenAccepted() {
  $('auth').classList.remove('needed');
  $('auth-status').textContent = '';
}

/**
 * Calls the admin API and answers the parsed JSON body. Throws an ApiError
 * (with the API's message) for non-2xx answers and network failures; on 401
 * it also asks for the token again.
 */
async function api(path, { method = 'GET' } = {}) {
  const token = getToken();
  if (!token) {
    askForToken('Enter the admin token to use the console.');
    throw new ApiError(401, null, 'an admin token is required');
  }
  let res;
  try {
    res = await fetch(path, { method, headers: { authorization: 'Bearer ' + token, accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, null, 'the server could not be reached (' + (e && e.message ? e.message : e) + ')');
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    const message = (isObject(body) && typeof body.message === 'string' && body.message) || 'unauthorized';
    askForToken('The admin token was rejected; enter it again.');
    throw new ApiError(401, body, message);
  }
  if (!res.ok) {
    let message = res.status + ' ' + res.statusText;
    if (isObject(body)) {
      if (typeof body.message === 'string' && body.message) message = body.message;
      else if (typeof body.error === 'string' && body.error) message = body.error;
    } else if (text) {
      message += ': ' + truncate(text, 200);
    }
    throw new ApiError(res.status, body, message);
  }
  if (!isObject(body)) throw new ApiError(res.status, body, 'the server answered something that is not JSON');
  tokenAccepted();
  return body;
}

// ---------------------------------------------------------------- routing

/** Bumped on every navigation: answers for an older one are dropped. */
let generation = 0;

function parseRoute() {
  const hash = location.hash.replace(/^#/, '');
  const [path, query = ''] = hash.split(/\?(.*)/s);
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'profiles' && parts.length >= 2) return { view: 'profile', id: decode(parts.slice(1).join('/')) };
  if (parts[0] === 'profiles') return { view: 'profiles' };
  if (parts[0] === 'sources') return { view: 'sources', id: parts[1] ? decode(parts[1]) : null };
  if (parts[0] === 'lookup') return { view: 'lookup', type: params.get('type') || '', value: params.get('value') ?? '' };
  return { view: 'events', filter: query };
}

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const VIEWS = ['events', 'profiles', 'sources'];

function showView(name) {
  const active = VIEWS.includes(name) ? name : 'profiles';
  for (const v of VIEWS) {
    $(v + '-view').hidden = v !== active;
    if (v === active) $('nav-' + v).setAttribute('aria-current', 'page');
    else $('nav-' + v).removeAttribute('aria-current');
  }
}

function route() {
  const r = parseRoute();
  const gen = ++generation;
  showView(r.view);
  if (r.view === 'events') {
    $('filter').value = r.filter;
    document.title = 'Events · Cairn console';
    if (getToken()) loadEvents(gen);
    else askForToken('Enter the admin token to use the console.');
    return;
  }
  if (r.view === 'sources') {
    document.title = (r.id ? 'Source ' + r.id : 'Sources') + ' · Cairn console';
    if (getToken()) loadSources(gen, r.id);
    else askForToken('Enter the admin token to use the console.');
    return;
  }
  clearProfileMessages();
  if (r.view === 'profiles') {
    document.title = 'Profiles · Cairn console';
    $('profile').hidden = true;
    $('profile-search-value').focus();
    return;
  }
  if (r.view === 'lookup') {
    setSearchForm(r.type, r.value);
    lookup(gen, r.type, r.value);
    return;
  }
  loadProfile(gen, r.id);
}

/** Goes to `hash`; re-runs the route when it is already the current one. */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---------------------------------------------------------------- events table

async function loadEvents(gen) {
  const filter = $('filter').value.trim().replace(/^\?/, '');
  $('status').textContent = 'Loading…';
  let body;
  try {
    body = await api('/admin/events?limit=100' + (filter ? '&' + filter : ''));
  } catch (e) {
    if (gen === generation) $('status').textContent = e.message;
    return;
  }
  if (gen !== generation) return;
  const events = asArray(body.events);
  $('status').textContent = events.length + ' events, newest first';
  const rows = events.filter(isObject).map((e) => {
    const user = el('td');
    if (e.userId != null && e.userId !== '') {
      user.append(el('span', { className: 'tag' }, 'userId'), ' ', identifierLink('user_id', show(e.userId)));
    }
    if (e.anonymousId != null && e.anonymousId !== '') {
      if (user.childNodes.length) user.append(el('br'));
      user.append(el('span', { className: 'tag' }, 'anonymousId'), ' ', identifierLink('anonymous_id', show(e.anonymousId)));
    }
    user.className = 'user';
    const props = el('td', null, el('pre', null, JSON.stringify(e.properties || e.traits || {}, null, 1)));
    return el(
      'tr',
      { dataset: { messageId: show(e.messageId) } },
      cell(show(e.receivedAt), 'time'),
      cell(show(e.type)),
      cell(show(e.event || e.name)),
      user,
      props,
    );
  });
  $('events').replaceChildren(...rows);
}

// ---------------------------------------------------------------- search

function setSearchForm(type, value) {
  const known = KNOWN_TYPES.includes(type);
  $('profile-search-type').value = known || !type ? type || 'user_id' : 'other';
  $('profile-search-other').value = known ? '' : type;
  $('profile-search-value').value = value;
  syncOtherType();
}

function syncOtherType() {
  const other = $('profile-search-type').value === 'other';
  $('profile-search-other-label').hidden = !other;
  $('profile-search-other').required = other;
}

function searchType() {
  const t = $('profile-search-type').value;
  return t === 'other' ? $('profile-search-other').value.trim() : t;
}

function clearProfileMessages() {
  $('profile-search-error').textContent = '';
  $('profile-error').textContent = '';
  $('profile-notice').textContent = '';
}

async function lookup(gen, type, value) {
  document.title = 'Find profile · Cairn console';
  if (!type || !value.trim()) {
    $('profile').hidden = true;
    $('profile-search-error').textContent = !type ? 'Enter the identifier type.' : 'Enter a value to look up.';
    return;
  }
  let body;
  try {
    body = await api('/admin/profiles/lookup?' + new URLSearchParams({ type, value }));
  } catch (e) {
    if (gen !== generation) return;
    $('profile').hidden = true;
    $('profile-search-error').textContent = e.message;
    return;
  }
  if (gen !== generation) return;
  const profile = isObject(body.profile) ? body.profile : null;
  if (!profile || typeof profile.id !== 'string') {
    $('profile-search-error').textContent = 'the server answered without a profile';
    return;
  }
  // The profile now has its own address; no hashchange fires for this.
  history.replaceState(null, '', profileHref(profile.id));
  renderProfile(profile, profile.id);
  loadTimeline(gen, profile.id);
}

// ---------------------------------------------------------------- profile

let current = null; // the profile shown: {requested, profile}

async function loadProfile(gen, id) {
  document.title = 'Profile ' + id + ' · Cairn console';
  if (!current || current.requested !== id) $('profile').hidden = true;
  const timeline = loadTimeline(gen, id);
  let body;
  try {
    body = await api('/admin/profiles/' + encodeURIComponent(id));
  } catch (e) {
    if (gen !== generation) return;
    $('profile').hidden = true;
    $('profile-error').textContent = e.message;
    return;
  }
  if (gen !== generation) return;
  if (!isObject(body.profile)) {
    $('profile-error').textContent = 'the server answered without a profile';
    return;
  }
  renderProfile(body.profile, id);
  await timeline;
}

function renderProfile(p, requested) {
  current = { requested, profile: p };
  const id = show(p.id);
  $('profile-id').textContent = id;
  const note = $('profile-merged-note');
  if (requested && requested !== id) {
    note.replaceChildren(
      'Profile ',
      el('code', null, requested),
      ' was merged into ',
      el('a', { href: profileHref(id) }, el('code', null, id)),
      '; showing that profile.',
    );
    note.hidden = false;
  } else {
    note.replaceChildren();
    note.hidden = true;
  }
  $('profile-event-count').textContent = show(p.eventCount ?? 0);
  $('profile-first-seen').replaceChildren(timeEl(p.firstSeen));
  $('profile-last-seen').replaceChildren(timeEl(p.lastSeen));
  $('profile-created').replaceChildren(timeEl(p.createdAt));
  $('profile-updated').replaceChildren(timeEl(p.updatedAt));

  fillTable(
    $('profile-identifiers'),
    asArray(p.identifiers)
      .filter(isObject)
      .map((i) =>
        el(
          'tr',
          { dataset: { type: show(i.type), value: show(i.value) } },
          cell(show(i.type)),
          el('td', null, identifierLink(show(i.type), show(i.value))),
          el('td', { className: 'time' }, timeEl(i.firstSeen)),
        ),
      ),
  );

  const traits = isObject(p.traits) ? p.traits : {};
  fillTable(
    $('profile-traits'),
    Object.keys(traits)
      .sort()
      .map((k) => el('tr', { dataset: { trait: k } }, el('th', { scope: 'row' }, k), cell(show(traits[k])))),
  );

  renderConsent(p.consent);
  renderConsentHistory(p.consentHistory);
  renderMerges(p);
  $('profile').hidden = false;
}

function renderConsent(consent) {
  const box = $('profile-consent');
  if (!isObject(consent)) {
    box.replaceChildren(el('p', { className: 'muted no-consent' }, 'no consent recorded'));
    return;
  }
  const prefs = isObject(consent.categoryPreferences) ? consent.categoryPreferences : {};
  const categories = CONSENT_CATEGORIES.concat(Object.keys(prefs).filter((k) => !CONSENT_CATEGORIES.includes(k)));
  const rows = categories.map((c) => {
    const v = prefs[c];
    const state = v === true ? 'allowed' : v === false ? 'denied' : v === undefined ? 'not set' : show(v);
    return el(
      'tr',
      { dataset: { category: c, state } },
      el('th', { scope: 'row' }, c),
      el('td', { className: v === true ? 'allowed' : v === false ? 'denied' : 'muted' }, state),
      el('td', { className: 'time' }, timeEl(consent.at)),
    );
  });
  box.replaceChildren(
    el(
      'table',
      { className: 'consent-table' },
      el('thead', null, el('tr', null, el('th', null, 'Category'), el('th', null, 'Choice'), el('th', null, 'Recorded'))),
      el('tbody', null, ...rows),
    ),
  );
}

/** Each recorded change of the person's choices, newest first: the proof of consent. */
function renderConsentHistory(history) {
  fillTable(
    $('profile-consent-history'),
    asArray(history)
      .filter(isObject)
      .map((c) => {
        const prefs = isObject(c.categoryPreferences) ? c.categoryPreferences : {};
        const choice = Object.keys(prefs).map((k) =>
          el('span', { className: prefs[k] === true ? 'allowed' : 'denied' }, k + (prefs[k] === true ? ' ✓' : ' ✗') + ' '),
        );
        return el(
          'tr',
          { dataset: { messageId: show(c.messageId) } },
          el('td', { className: 'time' }, timeEl(c.at)),
          el('td', null, ...choice),
          el('td', null, c.sourceId ? el('a', { href: '#/sources/' + encodeURIComponent(c.sourceId) }, show(c.sourceId)) : ''),
          cell(show(c.messageId)),
        );
      }),
  );
}

function identifierList(list) {
  const items = asArray(list).filter(isObject);
  if (!items.length) return el('span', { className: 'muted' }, '–');
  const span = el('span');
  items.forEach((i, n) => {
    if (n) span.append(el('br'));
    span.append(el('span', { className: 'tag' }, show(i.type)), ' ', identifierLink(show(i.type), show(i.value)));
  });
  return span;
}

function renderMerges(p) {
  const rows = asArray(p.merges)
    .filter(isObject)
    .map((m) => {
      const mergeId = show(m.id);
      const moved = el('td');
      const nIds = asArray(m.identifiers).length;
      const nTraits = isObject(m.traits) ? Object.keys(m.traits).length : 0;
      moved.append(jsonDetails({ identifiers: m.identifiers, traits: m.traits, sourceId: m.sourceId }, nIds + ' ids, ' + nTraits + ' traits'));
      const action = el('td', { className: 'action' });
      if (m.undoneAt) {
        action.append('undone at ', timeEl(m.undoneAt));
      } else if (m.into === p.id) {
        action.append(
          el(
            'button',
            { type: 'button', className: 'undo-merge small', dataset: { mergeId }, title: 'Split ' + show(m.from) + ' out of this profile again' },
            'Undo',
          ),
        );
      }
      return el(
        'tr',
        { className: m.undoneAt ? 'undone' : '', dataset: { mergeId } },
        el('td', { className: 'time' }, timeEl(m.at)),
        el('td', null, profileLink(show(m.from), p.id), ' → ', profileLink(show(m.into), p.id)),
        el('td', null, identifierList(m.via)),
        el(
          'td',
          { className: 'message-id' },
          m.messageId
            ? el('a', { href: '#/events?' + new URLSearchParams({ messageId: show(m.messageId) }), title: 'Show this event' }, show(m.messageId))
            : '–',
        ),
        moved,
        action,
      );
    });
  fillTable($('profile-merges'), rows);
}

async function undoMerge(button) {
  const mergeId = button.dataset.mergeId;
  const gen = ++generation;
  const shown = current && current.profile ? show(current.profile.id) : null;
  clearProfileMessages();
  for (const b of document.querySelectorAll('button.undo-merge')) b.disabled = true;
  let body;
  try {
    body = await api('/admin/merges/' + encodeURIComponent(mergeId) + '/undo', { method: 'POST' });
  } catch (e) {
    if (gen === generation) {
      $('profile-error').textContent = e.message;
      for (const b of document.querySelectorAll('button.undo-merge')) b.disabled = false;
    }
    return;
  }
  if (gen !== generation) return;
  const notice = $('profile-notice');
  notice.replaceChildren('Merge ', el('code', null, mergeId), ' undone.');
  const ids = asArray(body.profiles).map(show);
  if (ids.length) {
    notice.append(' Profiles: ');
    ids.forEach((id, n) => notice.append(n ? ', ' : '', el('a', { href: profileHref(id) }, el('code', null, id))));
  }
  // Reload the profile that was shown (by its live id, not an old merged one).
  const target = shown ? profileHref(shown) : location.hash;
  if (location.hash !== target) history.replaceState(null, '', target);
  const r = parseRoute();
  if (r.view === 'profile') loadProfile(gen, r.id);
}

// ---------------------------------------------------------------- timeline

/** What a Spec message is about: the event name, page name/path, ... */
function eventTitle(e) {
  const props = isObject(e.properties) ? e.properties : {};
  const page = isObject(e.context) && isObject(e.context.page) ? e.context.page : {};
  switch (e.type) {
    case 'track':
      return show(e.event);
    case 'page':
    case 'screen': {
      const name = e.name ? show(e.name) : '';
      const path = props.path || page.path || '';
      return name && path ? name + ' (' + show(path) + ')' : name || show(path);
    }
    case 'identify':
      return e.userId ? 'userId ' + show(e.userId) : '';
    case 'group':
      return e.groupId ? 'group ' + show(e.groupId) : '';
    case 'alias':
      return show(e.previousId) + ' → ' + show(e.userId);
    default:
      return show(e.event || e.name || '');
  }
}

/** `key: value, ...` of the properties (or traits), cut to a line. */
function summary(e) {
  const data = e.type === 'identify' || e.type === 'group' ? e.traits : e.properties;
  if (!isObject(data)) return '';
  const parts = Object.entries(data).map(([k, v]) => k + ': ' + truncate(show(v), 40));
  return truncate(parts.join(', '), 160);
}

async function loadTimeline(gen, id) {
  const status = $('profile-events-status');
  status.textContent = 'Loading events…';
  let body;
  try {
    body = await api('/admin/profiles/' + encodeURIComponent(id) + '/events?limit=100');
  } catch (e) {
    if (gen !== generation) return;
    status.textContent = 'Events could not be loaded: ' + e.message;
    $('profile-events').replaceChildren();
    return;
  }
  if (gen !== generation) return;
  const events = asArray(body.events).filter(isObject);
  status.textContent =
    events.length === 0
      ? 'No events.'
      : events.length + (events.length >= 100 ? ' latest events' : events.length === 1 ? ' event' : ' events') + ', newest first';
  const rows = events.map((e) =>
    el(
      'tr',
      { dataset: { messageId: show(e.messageId), type: show(e.type) } },
      el('td', { className: 'time' }, timeEl(e.timestamp || e.receivedAt)),
      cell(show(e.type)),
      cell(eventTitle(e)),
      el('td', null, el('span', { className: 'summary-text' }, summary(e)), jsonDetails(e)),
    ),
  );
  $('profile-events').replaceChildren(...rows);
}

// ---------------------------------------------------------------- wiring

$('token').value = getToken();

$('auth').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    askForToken('Enter the admin token.');
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenAccepted();
  route();
});

$('events-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const filter = $('filter').value.trim().replace(/^\?/, '');
  go('#/events' + (filter ? '?' + filter : ''));
});

$('profile-search-type').addEventListener('change', () => {
  syncOtherType();
  ($('profile-search-type').value === 'other' ? $('profile-search-other') : $('profile-search-value')).focus();
});

$('profile-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const type = searchType();
  const value = $('profile-search-value').value.trim();
  clearProfileMessages();
  if (!type) {
    $('profile-search-error').textContent = 'Enter the identifier type.';
    $('profile-search-other').focus();
    return;
  }
  if (!value) {
    $('profile-search-error').textContent = 'Enter a value to look up.';
    $('profile-search-value').focus();
    return;
  }
  go(lookupHref(type, value));
});

$('profile-merges').addEventListener('click', (ev) => {
  const button = ev.target instanceof Element ? ev.target.closest('button.undo-merge') : null;
  if (button && !button.disabled) undoMerge(button);
});

window.addEventListener('hashchange', route);
syncOtherType();
route();

// ---------------------------------------------------------------- sources

/** The sources, and for `id` what its PII policy found and its plan's violations. */
async function loadSources(gen, id) {
  $('sources-status').textContent = 'Loading…';
  $('source-error').textContent = '';
  let list;
  try {
    list = await api('/admin/sources');
  } catch (e) {
    if (gen === generation) $('sources-status').textContent = e.message;
    return;
  }
  if (gen !== generation) return;
  const sources = asArray(list.sources).filter(isObject);
  $('sources-status').textContent = sources.length + ' sources';
  $('sources').replaceChildren(
    ...sources.map((s) =>
      el(
        'tr',
        { dataset: { sourceId: show(s.id) }, className: s.id === id ? 'selected' : undefined },
        el('td', null, el('a', { href: '#/sources/' + encodeURIComponent(show(s.id)) }, show(s.name))),
        el('td', null, el('code', null, show(s.id))),
        el('td', null, el('code', null, show(s.writeKey))),
        cell(asArray(s.allowedOrigins).map(show).join(', ') || 'any'),
      ),
    ),
  );
  if (!id) {
    $('source').hidden = true;
    return;
  }
  let pii, plan;
  try {
    const path = '/admin/sources/' + encodeURIComponent(id);
    [pii, plan] = await Promise.all([api(path + '/pii-policy'), api(path + '/tracking-plan')]);
  } catch (e) {
    if (gen !== generation) return;
    $('source').hidden = true;
    $('source-error').textContent = e.message;
    return;
  }
  if (gen !== generation) return;
  const source = sources.find((s) => s.id === id);
  $('source-name').replaceChildren(el('strong', null, source ? show(source.name) : ''), ' ', el('code', null, id));
  fillTable(
    $('source-findings'),
    asArray(pii.findings)
      .filter(isObject)
      .map((f) =>
        el(
          'tr',
          { dataset: { path: show(f.path), class: show(f.class) } },
          el('td', null, el('code', null, show(f.path))),
          cell(show(f.class)),
          cell(show(f.action), f.action === 'allow' ? 'muted' : 'denied'),
          cell(show(f.count)),
          el('td', { className: 'time' }, timeEl(f.lastSeen)),
        ),
      ),
  );
  $('source-policy').replaceChildren(
    pii.piiPolicy ? jsonDetails(pii.piiPolicy, 'PII policy') : el('p', { className: 'muted' }, 'No PII policy: personal data is reported, not changed.'),
  );
  const byEvent = isObject(plan.violations) ? plan.violations : {};
  fillTable(
    $('source-violations'),
    Object.keys(byEvent).flatMap((event) =>
      asArray(isObject(byEvent[event]) ? byEvent[event].violations : null)
        .filter(isObject)
        .map((v) =>
          el(
            'tr',
            { dataset: { event, code: show(v.code) } },
            cell(event),
            cell(show(v.code)),
            el('td', null, el('code', null, show(v.path))),
            cell(show(v.count)),
            el('td', { className: 'time' }, timeEl(v.lastSeen)),
          ),
        ),
    ),
  );
  $('source-plan').replaceChildren(
    plan.trackingPlan ? jsonDetails(plan.trackingPlan, 'Tracking plan') : el('p', { className: 'muted' }, 'No tracking plan.'),
  );
  $('source').hidden = false;
}
