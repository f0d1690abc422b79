// The console's shell: sign-in, the left navigation and the hash router
// (#/images, #/instances/i-..., #/buckets/NAME?prefix=...).  Each view is
// a function (root, route) => cleanup, called when its address is shown;
// the cleanup stops what it started (polls, timers).
import { clear, h, setFlashHost } from './ui.js';
import { getConfig, loadConfig, session, signIn, signOut } from './aws.js';
import { errorText } from './ui.js';
import { go, parseRoute } from './route.js';
import { imagesView } from './views/images.js';
import { launchView } from './views/launch.js';
import { instancesView } from './views/instances.js';
import { volumesView } from './views/volumes.js';
import { snapshotsView } from './views/snapshots.js';
import { keyPairsView } from './views/keypairs.js';
import { securityGroupsView } from './views/security_groups.js';
import { bucketsView, objectsView } from './views/buckets.js';
import { usageView } from './views/usage.js';

const NAV = [
  ['Instances', [['instances', 'Instances', instancesView], ['launch', 'Launch instance', launchView]]],
  ['Images', [['images', 'AMIs', imagesView]]],
  ['Elastic Block Store', [['volumes', 'Volumes', volumesView], ['snapshots', 'Snapshots', snapshotsView]]],
  ['Network & Security', [['security-groups', 'Security groups', securityGroupsView], ['key-pairs', 'Key pairs', keyPairsView]]],
  ['Storage', [['buckets', 'Buckets', bucketsView]]],
  ['Billing', [['usage', 'Cost and usage', usageView]]],
];
const VIEWS = new Map(NAV.flatMap(([, items]) => items.map(([id, , view]) => [id, view])));

let cleanup = null;

function renderNav(current) {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  clear(nav, NAV.map(([group, items]) => [
    h('h4', group),
    items.map(([id, label]) => h('a', { href: `#/${id}`, class: id === current ? 'active' : '' }, label)),
  ]));
}

function renderWho(s) {
  const who = document.getElementById('who');
  document.getElementById('region').textContent = getConfig().region;
  if (!s) {
    clear(who);
    return;
  }
  clear(who,
    h('span', { title: s.arn }, `Account ${s.account}`),
    h('a', {
      href: '#/signin',
      onclick: () => { signOut(); },
    }, 'Sign out'));
}

function signInView(root, r) {
  const key = h('input', { id: 'access-key', autocomplete: 'username', required: true, spellcheck: 'false' });
  const secret = h('input', { id: 'secret-key', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('div.notice.error', { hidden: true, role: 'alert' });
  const button = h('button.btn.primary', { type: 'submit' }, 'Sign in');
  const form = h('form.form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        await signIn(key.value.trim(), secret.value.trim());
        const next = r.params.get('next');
        go(next && next.startsWith('#/') && !next.startsWith('#/signin') ? next : '#/instances');
      } catch (err) {
        error.textContent = `These keys were refused: ${errorText(err)}`;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    },
  },
  h('label.field', h('span', 'Access key ID'), key),
  h('label.field', h('span', 'Secret access key'), secret),
  h('p.small', `Region ${getConfig().region}. The keys stay in this browser tab (sessionStorage), where they sign each request; the secret key is never sent.`),
  h('div.row', button));
  document.getElementById('nav').hidden = true;
  clear(root, h('section.panel.signin',
    h('div.panel-head', h('h2', 'Sign in to amibox')),
    h('div.panel-body', h('p', 'Use an account\'s keys, as printed by ', h('code', 'amibox account show NAME'), '.'), error, form)));
}

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  document.querySelectorAll('.modal-back').forEach((m) => m.remove());
  const root = document.getElementById('main');
  const r = parseRoute();
  const s = session();
  renderWho(s);
  if (!s || r.name === 'signin') {
    if (s && r.name === 'signin') signOut();
    renderWho(null);
    const next = r.name && r.name !== 'signin' ? location.hash : r.params.get('next') || '';
    if (r.name !== 'signin') {
      history.replaceState(null, '', `#/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    }
    signInView(root, parseRoute());
    return;
  }
  const view = r.name === 'buckets' && r.id ? objectsView : VIEWS.get(r.name);
  if (!view) {
    history.replaceState(null, '', '#/instances');
    route();
    return;
  }
  renderNav(r.name);
  const flash = h('div.flash');
  const page = h('div');
  clear(root, flash, page);
  setFlashHost(flash);
  cleanup = view(page, r) || null;
}

async function start() {
  await loadConfig();
  window.addEventListener('hashchange', route);
  route();
}

start();
