// Admin console: reads the admin API with a token kept for this tab only.
const $ = (id) => document.getElementById(id);
$('token').value = sessionStorage.getItem('cairn.adminToken') || '';

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  return td;
}

async function load() {
  const token = $('token').value.trim();
  sessionStorage.setItem('cairn.adminToken', token);
  const res = await fetch('/admin/events?limit=100&' + $('filter').value.trim(), { headers: { authorization: 'Bearer ' + token } });
  const body = await res.json();
  if (!res.ok) {
    $('status').textContent = body.message || res.statusText;
    return;
  }
  $('status').textContent = body.events.length + ' events, newest first';
  const rows = body.events.map((e) => {
    const tr = document.createElement('tr');
    const props = document.createElement('td');
    const pre = document.createElement('pre');
    pre.textContent = JSON.stringify(e.properties || e.traits || {}, null, 1);
    props.append(pre);
    tr.append(cell(e.receivedAt), cell(e.type), cell(e.event || e.name), cell(e.userId || e.anonymousId), props);
    return tr;
  });
  $('events').replaceChildren(...rows);
}

$('auth').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load();
});
if ($('token').value) load();
