// What several views share: links between resources, the tags editor,
// the detail pane under a table, and polling that stops with the view.
import { CreateTagsCommand, DeleteTagsCommand } from '@aws-sdk/client-ec2';
import { clear, confirmModal, errorText, h, modal, notify, table } from '../ui.js';
import { ec2 } from '../aws.js';

export function link(kind, id) {
  return id ? h('a.mono', { href: `#/${kind}/${encodeURIComponent(id)}` }, id) : '-';
}

export function tagsTable(tags) {
  if (!tags || !tags.length) return h('p.muted.panel-body', 'No tags.');
  return h('div.table-wrap', h('table.grid',
    h('thead', h('tr', h('th', 'Key'), h('th', 'Value'))),
    h('tbody', tags.map((t) => h('tr', h('td', t.Key), h('td', t.Value))))));
}

// A dialog that edits a resource's tags: CreateTags for what is new or
// changed, DeleteTags for what went.
export function editTags(resourceId, tags, done) {
  const rows = h('div.form');
  const addRow = (k = '', v = '') => {
    const key = h('input.grow', { value: k, placeholder: 'Key', 'aria-label': 'Tag key' });
    const value = h('input.grow', { value: v, placeholder: 'Value', 'aria-label': 'Tag value' });
    const row = h('div.row', key, value, h('button.btn', { onclick: () => row.remove() }, 'Remove'));
    row.read = () => ({ Key: key.value.trim(), Value: value.value });
    rows.append(row);
  };
  (tags || []).forEach((t) => addRow(t.Key, t.Value));
  if (!tags || !tags.length) addRow();
  modal({
    title: `Tags of ${resourceId}`,
    body: h('div', rows, h('p', h('button.btn', { onclick: () => addRow() }, 'Add tag'))),
    actions: [{
      label: 'Save', primary: true,
      onClick: async () => {
        const want = [...rows.children].map((r) => r.read()).filter((t) => t.Key);
        const before = new Map((tags || []).map((t) => [t.Key, t.Value]));
        const after = new Map(want.map((t) => [t.Key, t.Value]));
        const removed = [...before.keys()].filter((k) => !after.has(k));
        const changed = want.filter((t) => before.get(t.Key) !== t.Value);
        if (removed.length) {
          await ec2(new DeleteTagsCommand({ Resources: [resourceId], Tags: removed.map((Key) => ({ Key })) }));
        }
        if (changed.length) await ec2(new CreateTagsCommand({ Resources: [resourceId], Tags: changed }));
        done();
        return true;
      },
    }],
  });
}

// Runs fn now and every ms milliseconds until stop() (or the view goes).
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } finally {
      if (!stopped) timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
    }
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// The "Delete" item of an action menu: asks, then deletes each selected
// row (del(row)), says so and refreshes.  allowed(rows) may narrow it.
export function deleteItem({ label, selected, name, del, done, note = '', allowed = () => true }) {
  return {
    label,
    disabled: () => !selected().length || !allowed(selected()),
    onClick: () => {
      const rows = selected();
      const names = rows.map(name).join(', ');
      confirmModal(label, `Delete ${names}?${note ? ` ${note}` : ''}`, 'Delete', async () => {
        for (const r of rows) await del(r);
        notify('success', `Deleted ${names}.`);
        done();
      });
    },
  };
}

// The "Manage tags" item: for one selected row, whose ID is idOf(row).
export function tagsItem(selected, idOf, done) {
  const one = () => (selected().length === 1 ? selected()[0] : null);
  return { label: 'Manage tags', disabled: () => !one(), onClick: () => editTags(idOf(one()), one().Tags, done) };
}

export function refreshButton(onclick) {
  return h('button.btn.icon', { onclick, 'aria-label': 'Refresh', title: 'Refresh' }, '\u21BB');
}

// A list page: a table and, under it, the detail of the one selected row.
// detail(row, el) draws it and may return a cleanup; it is drawn again
// only when another row is chosen, not when a poll refreshes the rows
// (unless refresh(row, el) is given, which is called then).
// With load (async () => rows), the page lists them now and, with every,
// every so many milliseconds; t.refresh() lists them again; selectId is
// selected once listed (an address such as #/volumes/vol-...).
export function listPage(root, opts) {
  const detail = h('section.panel.split', { hidden: true });
  let shown = null;
  let cleanup = null;
  const t = table({
    ...opts,
    onSelect(rows, refreshed) {
      // The view's actions act on the rows as they are now, refreshed or not.
      if (opts.onSelect) opts.onSelect(rows);
      const one = rows.length === 1 ? rows[0] : null;
      const id = one ? opts.key(one) : null;
      if (refreshed && id === shown) {
        if (opts.refresh && one) opts.refresh(one, detail);
        return;
      }
      if (cleanup) cleanup();
      cleanup = null;
      shown = id;
      detail.hidden = !one;
      clear(detail);
      if (one) cleanup = opts.detail(one, detail) || null;
    },
  });
  clear(root, t.element, detail);
  let first = true;
  t.refresh = async () => {
    try {
      t.setRows(await opts.load());
      if (first && opts.selectId) t.select(opts.selectId);
      first = false;
    } catch (err) {
      t.setError(`Cannot list the ${opts.title.toLowerCase()}: ${errorText(err)}`);
    }
  };
  let stop = () => {};
  if (opts.load && opts.every) stop = poll(t.refresh, opts.every);
  else if (opts.load) t.refresh();
  t.dispose = () => { stop(); if (cleanup) cleanup(); cleanup = null; };
  return t;
}

export function pageHead(title, sub) {
  return h('div.page-head', h('div', h('h1', title), sub ? h('div.sub', sub) : null));
}
