// The console's building blocks: a DOM builder, tables with search,
// sorting, selection and pages, menus, modals, notices, tabs and formats.
// Plain DOM, no framework: each view builds its nodes and keeps them.

// h('div.a.b', { onclick, title, ... }, child, [children], 'text')
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden') el[k] = true;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- formats ------------------------------------------------------------

export function fmtTime(t) {
  if (!t) return '-';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${units[i]}`;
}

export function tag(tags, key = 'Name') {
  const t = (tags || []).find((x) => x.Key === key);
  return t ? t.Value : '';
}

const STATE_CLASS = {
  running: 'ok', available: 'ok', completed: 'ok', 'in-use': 'ok', attached: 'ok',
  pending: 'busy', stopping: 'busy', 'shutting-down': 'busy', creating: 'busy', attaching: 'busy',
  detaching: 'busy', deleting: 'busy', modifying: 'busy',
  stopped: 'bad', terminated: 'bad', failed: 'bad', error: 'bad', deregistered: 'bad', deleted: 'bad',
};

export function stateBadge(state) {
  return h(`span.state.${STATE_CLASS[state] || 'none'}`, { 'data-state': state }, state || '-');
}

export function errorText(err) {
  if (!err) return 'unknown error';
  // An answer in another protocol's format (an EC2 XML error to a JSON
  // client): the SDK could not read it, but the code and message are there.
  const raw = err.$response && typeof err.$response.body === 'string' ? err.$response.body : '';
  const status = err.$metadata && err.$metadata.httpStatusCode;
  if (raw && /Deserialization error/.test(err.message || '')) {
    const code = /<Code>([^<]*)<\/Code>/.exec(raw);
    const message = /<Message>([^<]*)<\/Message>/.exec(raw);
    if (code) return `${code[1]}: ${message ? message[1] : ''} (HTTP ${status})`;
    return `HTTP ${status}: an answer the client cannot read`;
  }
  const code = err.Code || err.name || '';
  const message = err.message || String(err);
  return code && !message.startsWith(code) && code !== 'Error' ? `${code}: ${message}` : message;
}

// ---- notices --------------------------------------------------------------

let flashHost = null;
export function setFlashHost(el) { flashHost = el; }

// A notice at the top of the page; errors stay until closed.
export function notify(kind, ...content) {
  if (!flashHost) return;
  const n = h(`div.notice.${kind}`, { role: kind === 'error' ? 'alert' : 'status' },
    h('span', content),
    h('button.btn.link.close', { onclick: () => n.remove(), 'aria-label': 'Dismiss' }, '\u2715'));
  flashHost.prepend(n);
  while (flashHost.children.length > 4) flashHost.lastChild.remove();
  if (kind !== 'error') setTimeout(() => n.remove(), 8000);
}

// Runs an action and reports its outcome; returns its result or undefined.
export async function run(what, fn) {
  try {
    const r = await fn();
    if (what) notify('success', what);
    return r;
  } catch (err) {
    notify('error', errorText(err));
    return undefined;
  }
}

// ---- menus ----------------------------------------------------------------

// items: [{ label, onClick, disabled: () => bool }, '-', { group: 'Title' }]
export function menu(label, items, opts = {}) {
  const list = h('div.menu-list', { role: 'menu', hidden: true });
  const button = h(`button.btn${opts.primary ? '.primary' : ''}`, {
    'aria-haspopup': 'menu',
    onclick: (ev) => {
      ev.stopPropagation();
      const open = list.hidden;
      document.querySelectorAll('.menu-list').forEach((l) => { l.hidden = true; });
      if (!open) return;
      clear(list, items.map((it) => {
        if (it === '-') return h('div.menu-sep');
        if (it.group) return h('div.menu-group', it.group);
        return h('button', {
          role: 'menuitem',
          disabled: it.disabled && it.disabled(),
          onclick: (e) => { e.stopPropagation(); list.hidden = true; it.onClick(); },
        }, it.label);
      }));
      list.hidden = false;
    },
  }, label, ' \u25BE');
  return h('div.menu', button, list);
}
document.addEventListener('click', () => {
  document.querySelectorAll('.menu-list').forEach((l) => { l.hidden = true; });
});

// ---- modals ---------------------------------------------------------------

// Opens a dialog.  actions: [{ label, primary, danger, onClick: async () =>
// true to close }].  An action that throws shows its error in the dialog.
export function modal({ title, body, actions = [], wide = false }) {
  const error = h('div.notice.error', { hidden: true, role: 'alert' });
  const foot = h('div.modal-foot');
  const back = h('div.modal-back', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title });
  const close = () => back.remove();
  const box = h('div.modal', { class: wide ? 'wide' : '' },
    h('div.modal-head', h('h2', title), h('span.spacer'),
      h('button.btn.link', { onclick: close, 'aria-label': 'Close' }, '\u2715')),
    h('div.modal-body', error, body),
    foot);
  clear(foot, h('button.btn', { onclick: close }, 'Cancel'),
    actions.map((a) => {
      const b = h(`button.btn${a.primary ? '.primary' : ''}${a.danger ? '.danger' : ''}`, {
        onclick: async () => {
          error.hidden = true;
          b.disabled = true;
          try {
            if (await a.onClick()) close();
          } catch (err) {
            error.textContent = errorText(err);
            error.hidden = false;
          } finally {
            b.disabled = false;
          }
        },
      }, a.label);
      return b;
    }));
  back.append(box);
  back.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
  document.body.append(back);
  const first = box.querySelector('input, select, textarea');
  if (first) first.focus();
  return { close, element: back };
}

export function confirmModal(title, text, label, onConfirm) {
  return modal({
    title,
    body: h('p', text),
    actions: [{ label, danger: true, primary: false, onClick: async () => { await onConfirm(); return true; } }],
  });
}

// ---- forms ----------------------------------------------------------------

export function field(label, control, hint) {
  return h('label.field', h('span', label, hint ? h('span.hint', ` ${hint}`) : null), control);
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, text);
  }));
}

// ---- tabs -----------------------------------------------------------------

// tabs: [{ id, label, render: (el) => cleanup? }]; returns the element.
export function tabs(list, initial) {
  const body = h('div');
  const bar = h('div.tabs', { role: 'tablist' });
  let cleanup = null;
  const show = (id) => {
    if (cleanup) cleanup();
    cleanup = null;
    for (const b of bar.children) b.classList.toggle('active', b.dataset.tab === id);
    clear(body);
    const t = list.find((x) => x.id === id) || list[0];
    cleanup = t.render(body) || null;
  };
  for (const t of list) {
    bar.append(h('button', { role: 'tab', 'data-tab': t.id, onclick: () => show(t.id) }, t.label));
  }
  const el = h('div', bar, body);
  show(initial || list[0].id);
  el.dispose = () => { if (cleanup) cleanup(); cleanup = null; };
  return el;
}

export function kv(pairs) {
  return h('dl.kv', pairs.filter(Boolean).map(([k, v]) =>
    h('div', h('dt', k), h('dd', v === undefined || v === null || v === '' ? '-' : v))));
}

// ---- tables ---------------------------------------------------------------

const collator = new Intl.Collator('en', { numeric: true });

// A table of rows with search, sortable columns, selection (checkboxes),
// pages, and a header with a title, a count and the caller's buttons.
//
// opts: { title, columns: [{ label, value: row => sortable value,
//   render?: row => node|string }], key: row => id, search: row => text,
//   searchPlaceholder, pageSize, single, buttons: [nodes], filters: [nodes]
//   (beside the search box),
//   onSelect(rows), sort: { column, desc }, empty }
export function table(opts) {
  const state = {
    rows: [], shown: [], page: 0, pageSize: opts.pageSize || 50,
    sort: opts.sort || { column: 0, desc: false }, selected: new Set(), query: '',
    loading: true, error: null, more: null,
  };
  const count = h('span.count');
  const title = h('h2', opts.title, ' ', count);
  const search = h('input.search', {
    type: 'search', placeholder: opts.searchPlaceholder || 'Search',
    'aria-label': `Search ${opts.title}`,
  });
  const thead = h('thead');
  const tbody = h('tbody');
  const foot = h('div.table-foot');
  const message = h('div.table-empty', { hidden: true });
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = search.value.trim().toLowerCase();
      state.page = 0;
      recompute();
    }, 120);
  });

  const el = h('section.panel', { 'data-table': opts.title },
    h('div.panel-head', title, h('span.spacer'), opts.buttons || []),
    h('div.filters', opts.filters || [], search),
    h('div.table-wrap', h('table.grid', thead, tbody)),
    message,
    foot);

  function header() {
    const all = h('input', {
      type: 'checkbox', 'aria-label': 'Select all on this page', hidden: opts.single,
      onchange: () => {
        const page = pageRows();
        if (all.checked) page.forEach((r) => state.selected.add(opts.key(r)));
        else page.forEach((r) => state.selected.delete(opts.key(r)));
        body();
        selectionChanged();
      },
    });
    clear(thead, h('tr', h('th.check', all), opts.columns.map((c, i) => {
      const sorted = state.sort.column === i;
      return h('th', {
        class: `sortable${sorted ? ' sorted' : ''}${sorted && !state.sort.desc ? ' asc' : ''}`,
        onclick: () => {
          state.sort = { column: i, desc: sorted ? !state.sort.desc : false };
          recompute();
        },
      }, c.label);
    })));
  }

  function pageRows() {
    const start = state.page * state.pageSize;
    return state.shown.slice(start, start + state.pageSize);
  }

  function body() {
    const rows = pageRows();
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const id = opts.key(r);
      const selected = state.selected.has(id);
      const box = h('input', {
        type: opts.single ? 'radio' : 'checkbox', name: `sel-${opts.title}`, checked: selected,
        'aria-label': `Select ${id}`,
      });
      const tr = h('tr', { class: selected ? 'selected' : '', 'data-id': id },
        h('td.check', box),
        opts.columns.map((c) => {
          const v = c.render ? c.render(r) : c.value(r);
          return h('td', v === undefined || v === null || v === '' ? '-' : v);
        }));
      tr.addEventListener('click', (ev) => {
        if (ev.target.closest('a, button')) return;
        const additive = ev.target === box || ev.ctrlKey || ev.metaKey;
        if (!additive || opts.single) state.selected.clear();
        if (additive && selected && !opts.single) state.selected.delete(id);
        else state.selected.add(id);
        body();
        selectionChanged();
      });
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    const n = state.shown.length;
    message.hidden = !(state.loading || state.error || n === 0);
    message.textContent = state.loading ? 'Loading…' : state.error ? state.error
      : state.query ? 'No match.' : (opts.empty || 'Nothing here yet.');
    message.classList.toggle('error', Boolean(state.error));
    count.textContent = state.loading ? '' : state.more !== null ? `(${state.more.toLocaleString('en-US')} so far, loading…)`
      : `(${n.toLocaleString('en-US')}${n !== state.rows.length ? ` of ${state.rows.length.toLocaleString('en-US')}` : ''})`;
    const pages = Math.max(1, Math.ceil(n / state.pageSize));
    clear(foot,
      n ? `${(state.page * state.pageSize + 1).toLocaleString('en-US')}–${Math.min(n, (state.page + 1) * state.pageSize).toLocaleString('en-US')} of ${n.toLocaleString('en-US')}` : '',
      h('button.btn.icon', { disabled: state.page === 0, 'aria-label': 'Previous page', onclick: () => { state.page--; body(); } }, '\u2039'),
      h('span', `Page ${state.page + 1} of ${pages}`),
      h('button.btn.icon', { disabled: state.page >= pages - 1, 'aria-label': 'Next page', onclick: () => { state.page++; body(); } }, '\u203A'));
  }

  function recompute() {
    const q = state.query;
    let rows = q ? state.rows.filter((r) => opts.search(r).toLowerCase().includes(q)) : state.rows.slice();
    const col = opts.columns[state.sort.column];
    if (col) {
      const dir = state.sort.desc ? -1 : 1;
      const keyed = rows.map((r) => [col.value(r), r]);
      keyed.sort((a, b) => {
        const x = a[0] ?? '';
        const y = b[0] ?? '';
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return collator.compare(String(x), String(y)) * dir;
      });
      rows = keyed.map((k) => k[1]);
    }
    state.shown = rows;
    const pages = Math.max(1, Math.ceil(rows.length / state.pageSize));
    if (state.page >= pages) state.page = pages - 1;
    header();
    body();
  }

  function selectionChanged() {
    if (opts.onSelect) opts.onSelect(api.selected());
  }

  const api = {
    element: el,
    // rows: all of them, or ({ more: true }) the first of more to come.
    setRows(rows, { more = false } = {}) {
      state.rows = rows;
      state.loading = false;
      state.error = null;
      state.more = more ? rows.length : null;
      const keys = new Set(rows.map(opts.key));
      let dropped = false;
      for (const k of [...state.selected]) if (!keys.has(k)) { state.selected.delete(k); dropped = true; }
      recompute();
      if (dropped) selectionChanged();
      else if (opts.onSelect && state.selected.size) opts.onSelect(api.selected(), true);
    },
    setLoading() { state.loading = true; state.error = null; state.more = null; body(); },
    // How many rows have come so far, while more are coming.
    setProgress(n) {
      state.more = n;
      count.textContent = `(${n.toLocaleString('en-US')} so far, loading…)`;
    },
    setError(text) { state.loading = false; state.more = null; state.error = text; state.rows = []; recompute(); },
    selected() { return state.rows.filter((r) => state.selected.has(opts.key(r))); },
    select(id) {
      state.selected = new Set([id]);
      const i = state.shown.findIndex((r) => opts.key(r) === id);
      if (i >= 0) state.page = Math.floor(i / state.pageSize);
      body();
      selectionChanged();
    },
    rows() { return state.rows; },
  };
  header();
  body();
  return api;
}
