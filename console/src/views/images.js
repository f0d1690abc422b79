// Images (AMIs): the list with EC2's filters, the detail (block device
// mapping, launch permissions, deprecation, tags), and deregister, copy,
// deprecate and launch.
import {
  CopyImageCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand,
  DisableImageDeprecationCommand, EnableImageDeprecationCommand, ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { ec2, getConfig, session } from '../aws.js';
import { clear, field, fmtTime, h, kv, menu, modal, notify, run, select, stateBadge, tabs } from '../ui.js';
import { go } from '../route.js';
import { editTags, link, listPage, pageHead, refreshButton, tagsTable } from './common.js';

const OWNERS = [
  ['self', 'Owned by me'], ['amazon', 'Amazon (samples)'], ['shared', 'Shared with me'],
  ['public', 'Public images'], ['all', 'All I can launch'],
];

// The request for the chosen filters; the name search is the table's own.
export function imagesRequest(f) {
  const input = { IncludeDeprecated: f.deprecated, MaxResults: 1000, Filters: [] };
  if (f.owner === 'self' || f.owner === 'amazon') input.Owners = [f.owner];
  if (f.owner === 'shared') input.ExecutableUsers = ['self'];
  if (f.owner === 'public') input.Filters.push({ Name: 'is-public', Values: ['true'] });
  for (const [name, value] of [['architecture', f.arch], ['root-device-type', f.root],
    ['virtualization-type', f.virt], ['state', f.state]]) {
    if (value) input.Filters.push({ Name: name, Values: [value] });
  }
  if (f.tag) {
    const eq = f.tag.indexOf('=');
    if (eq < 0) input.Filters.push({ Name: 'tag-key', Values: [f.tag] });
    else input.Filters.push({ Name: `tag:${f.tag.slice(0, eq)}`, Values: [f.tag.slice(eq + 1)] });
  }
  if (!input.Filters.length) delete input.Filters;
  return input;
}

export function imagesView(root, route) {
  const f = {
    owner: route.params.get('owner') || (route.id ? 'all' : 'self'), arch: '', root: '', virt: '',
    state: '', tag: '', deprecated: true,
  };
  const me = session().account;
  const onChange = (k) => (ev) => { f[k] = ev.target.type === 'checkbox' ? ev.target.checked : ev.target.value.trim(); load(); };
  const filters = [
    h('label', 'Owner', select(OWNERS, f.owner, { onchange: onChange('owner'), 'aria-label': 'Owner' })),
    h('label', 'Architecture', select([['', 'Any'], 'x86_64', 'i386', 'arm64'], '', { onchange: onChange('arch'), 'aria-label': 'Architecture' })),
    h('label', 'Root device type', select([['', 'Any'], 'ebs', 'instance-store'], '', { onchange: onChange('root'), 'aria-label': 'Root device type' })),
    h('label', 'Virtualization', select([['', 'Any'], 'hvm', 'paravirtual'], '', { onchange: onChange('virt'), 'aria-label': 'Virtualization type' })),
    h('label', 'State', select([['', 'Any'], 'available', 'pending', 'failed', 'deregistered'], '', { onchange: onChange('state'), 'aria-label': 'State' })),
    h('label', 'Tag', h('input', { placeholder: 'key or key=value', onchange: onChange('tag'), 'aria-label': 'Tag filter' })),
    h('label.field.inline', h('input', { type: 'checkbox', checked: true, onchange: onChange('deprecated') }), 'Include deprecated'),
  ];

  let selected = [];
  const one = () => (selected.length === 1 ? selected[0] : null);
  const mine = () => one() && one().OwnerId === me;
  const actions = menu('Actions', [
    { label: 'Copy AMI', disabled: () => !one(), onClick: () => copyImage(one(), load) },
    { label: 'Deregister AMI', disabled: () => !selected.length || !selected.every((i) => i.OwnerId === me), onClick: () => deregister(selected, load) },
    '-',
    { label: 'Edit launch permissions', disabled: () => !mine(), onClick: () => t.select(one().ImageId) },
    { label: 'Manage deprecation', disabled: () => !mine(), onClick: () => deprecation(one(), load) },
    { label: 'Manage tags', disabled: () => !mine(), onClick: () => editTags(one().ImageId, one().Tags, load) },
  ]);
  const launch = h('button.btn.primary', { disabled: true, onclick: () => go(`#/launch?image=${one().ImageId}`) }, 'Launch instance from AMI');
  const refresh = refreshButton(() => load());

  const body = h('div');
  clear(root, pageHead('Amazon Machine Images (AMIs)', 'Images this account owns, or may launch.'), body);
  const t = listPage(body, {
    title: 'AMIs',
    filters,
    buttons: [refresh, actions, launch],
    searchPlaceholder: 'Find AMIs by name, ID or description',
    columns: [
      { label: 'Name', value: (i) => i.Name || '' },
      { label: 'AMI ID', value: (i) => i.ImageId, render: (i) => h('span.mono', i.ImageId) },
      { label: 'Source', value: (i) => i.ImageLocation || '' },
      { label: 'Owner', value: (i) => i.ImageOwnerAlias || i.OwnerId },
      { label: 'Visibility', value: (i) => (i.Public ? 'Public' : 'Private') },
      { label: 'Status', value: (i) => i.State, render: (i) => stateBadge(i.State) },
      { label: 'Creation date', value: (i) => i.CreationDate || '' },
      { label: 'Root device', value: (i) => i.RootDeviceType },
      { label: 'Virtualization', value: (i) => i.VirtualizationType },
      { label: 'Architecture', value: (i) => i.Architecture },
      { label: 'Deprecation', value: (i) => i.DeprecationTime || '' },
    ],
    sort: { column: 6, desc: true },
    key: (i) => i.ImageId,
    search: (i) => `${i.Name || ''} ${i.ImageId} ${i.Description || ''}`,
    empty: 'No images match these filters.',
    onSelect(rows) {
      selected = rows;
      launch.disabled = rows.length !== 1 || rows[0].State !== 'available';
    },
    detail: (image, el) => imageDetail(image, el, me, load),
  });

  // The first page is drawn as soon as it comes (a 10,000-image account
  // sees rows in a few hundred milliseconds); the rest follow, counted.
  let generation = 0;
  async function load() {
    const mine = ++generation;
    t.setLoading();
    const started = performance.now();
    try {
      const input = imagesRequest(f);
      const images = [];
      let token;
      do {
        const r = await ec2(new DescribeImagesCommand({ ...input, NextToken: token }));
        if (mine !== generation) return;
        images.push(...(r.Images || []));
        token = r.NextToken;
        if (token && images.length === (r.Images || []).length) {
          t.setRows(images.slice(), { more: true });
          performance.mark('amibox-images-first-page', { detail: { ms: performance.now() - started } });
        } else if (token) {
          t.setProgress(images.length);
        }
      } while (token);
      const fetched = performance.now();
      t.setRows(images);
      // For the benchmark and the tests: when the list was drawn.
      document.body.dataset.imagesListed = String(images.length);
      performance.mark('amibox-images-listed', {
        detail: { count: images.length, fetchMs: fetched - started, drawMs: performance.now() - fetched },
      });
      if (route.id && images.some((i) => i.ImageId === route.id)) t.select(route.id);
    } catch (err) {
      if (mine === generation) t.setError(`Cannot list images: ${err.name}: ${err.message}`);
    }
  }
  load();
  return () => t.dispose();
}

function imageDetail(image, el, me, reload) {
  const owner = image.OwnerId === me;
  const bdm = image.BlockDeviceMappings || [];
  const snapshots = bdm.map((b) => b.Ebs && b.Ebs.SnapshotId).filter(Boolean);
  const t = tabs([
    {
      id: 'details', label: 'Details', render: (b) => b.append(kv([
        ['AMI ID', h('span.mono', image.ImageId)], ['Name', image.Name], ['Owner account', image.OwnerId],
        ['Owner alias', image.ImageOwnerAlias], ['Image location', image.ImageLocation], ['Description', image.Description],
        ['State', stateBadge(image.State)], ['State reason', image.StateReason && image.StateReason.Message],
        ['Creation date', fmtTime(image.CreationDate)], ['Image type', image.ImageType],
        ['Architecture', image.Architecture], ['Virtualization type', image.VirtualizationType],
        ['Root device type', image.RootDeviceType], ['Root device name', image.RootDeviceName],
        ['Boot mode', image.BootMode], ['IMDS support', image.ImdsSupport], ['Kernel ID', image.KernelId],
        ['RAM disk ID', image.RamdiskId], ['Platform details', image.PlatformDetails],
        ['Usage operation', image.UsageOperation], ['Hypervisor', image.Hypervisor], ['ENA support', String(Boolean(image.EnaSupport))],
        ['Visibility', image.Public ? 'Public' : 'Private'],
        ['Deprecation time', image.DeprecationTime ? fmtTime(image.DeprecationTime) : 'Not deprecated'],
        ['Snapshots', snapshots.length ? h('span', snapshots.map((s, i) => [i ? ', ' : '', link('snapshots', s)])) : '-'],
      ])),
    },
    {
      id: 'storage', label: 'Block devices', render: (b) => b.append(bdm.length ? h('div.table-wrap', h('table.grid',
        h('thead', h('tr', ['Device name', 'Snapshot', 'Size (GiB)', 'Volume type', 'IOPS', 'Throughput', 'Delete on termination', 'Encrypted', 'Virtual name', 'No device'].map((x) => h('th', x)))),
        h('tbody', bdm.map((m) => h('tr',
          h('td.mono', m.DeviceName), h('td', m.Ebs ? link('snapshots', m.Ebs.SnapshotId) : '-'),
          h('td', m.Ebs ? m.Ebs.VolumeSize ?? '-' : '-'), h('td', m.Ebs ? m.Ebs.VolumeType || '-' : '-'),
          h('td', m.Ebs && m.Ebs.Iops ? m.Ebs.Iops : '-'), h('td', m.Ebs && m.Ebs.Throughput ? m.Ebs.Throughput : '-'),
          h('td', m.Ebs ? String(Boolean(m.Ebs.DeleteOnTermination)) : '-'), h('td', m.Ebs ? String(Boolean(m.Ebs.Encrypted)) : '-'),
          h('td', m.VirtualName || '-'), h('td', m.NoDevice !== undefined ? 'yes' : '-')))))) : h('p.panel-body.muted', 'No block devices.')),
    },
    { id: 'permissions', label: 'Permissions', render: (b) => launchPermissions(image, b, owner, reload) },
    {
      id: 'tags', label: 'Tags', render: (b) => b.append(
        owner ? h('div.panel-body', h('button.btn', { onclick: () => editTags(image.ImageId, image.Tags, reload) }, 'Manage tags')) : null,
        tagsTable(image.Tags)),
    },
  ]);
  el.append(h('div.detail-head', h('h2', image.Name || image.ImageId), h('span.mono.muted', image.ImageId)), t);
  return () => t.dispose();
}

// Launch permissions: public, and the accounts granted; the owner edits them.
function launchPermissions(image, el, owner, reload) {
  const box = h('div.panel-body', h('p.muted', 'Loading…'));
  el.append(box);
  if (!owner) {
    clear(box, h('p', 'Only the owner sees and changes an image\'s launch permissions.'),
      h('p.muted', image.Public ? 'This image is public.' : 'This image is shared with this account.'));
    return;
  }
  const draw = async () => {
    const r = await ec2(new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: 'launchPermission' }));
    const perms = r.LaunchPermissions || [];
    const isPublic = perms.some((p) => p.Group === 'all');
    const accounts = perms.filter((p) => p.UserId).map((p) => p.UserId);
    const modify = async (LaunchPermission) => {
      await run('Launch permissions saved.', () =>
        ec2(new ModifyImageAttributeCommand({ ImageId: image.ImageId, LaunchPermission })));
      await draw();
    };
    const account = h('input', { placeholder: '12-digit account ID', 'aria-label': 'Account ID to share with', pattern: '\\d{12}' });
    clear(box,
      h('h3', 'Visibility'),
      h('div.row', h('span', isPublic ? 'Public: every account may launch it.' : 'Private: only the owner and the accounts below.'),
        h('button.btn', {
          onclick: () => modify(isPublic ? { Remove: [{ Group: 'all' }] } : { Add: [{ Group: 'all' }] }),
        }, isPublic ? 'Make private' : 'Make public')),
      h('h3', 'Shared with accounts'),
      accounts.length ? h('table.grid', h('tbody', accounts.map((a) => h('tr', h('td.mono', a),
        h('td.right', h('button.btn', { onclick: () => modify({ Remove: [{ UserId: a }] }) }, 'Remove')))))) : h('p.muted', 'No account.'),
      h('div.row', account, h('button.btn', {
        onclick: () => {
          if (!/^\d{12}$/.test(account.value.trim())) {
            notify('error', 'An account ID is 12 digits.');
            return;
          }
          modify({ Add: [{ UserId: account.value.trim() }] });
        },
      }, 'Share')));
  };
  draw().catch((err) => clear(box, h('p.notice.error', `Cannot read the launch permissions: ${err.message}`)));
}

function copyImage(image, reload) {
  const name = h('input', { value: `${image.Name || image.ImageId}-copy`, 'aria-label': 'Name of the copy' });
  const description = h('input', { value: `Copy of ${image.ImageId}`, 'aria-label': 'Description of the copy' });
  modal({
    title: `Copy ${image.ImageId}`,
    body: h('div.form', field('Name', name), field('Description', description),
      h('p.muted', `Into ${getConfig().region}: the copy's snapshots share the source's blocks, nothing is copied.`)),
    actions: [{
      label: 'Copy AMI', primary: true,
      onClick: async () => {
        const r = await ec2(new CopyImageCommand({
          SourceImageId: image.ImageId, SourceRegion: getConfig().region, Name: name.value.trim(),
          Description: description.value,
        }));
        notify('success', `Copying to ${r.ImageId}.`);
        reload();
        return true;
      },
    }],
  });
}

function deregister(images, reload) {
  const snaps = h('input', { type: 'checkbox' });
  modal({
    title: images.length === 1 ? `Deregister ${images[0].ImageId}` : `Deregister ${images.length} AMIs`,
    body: h('div.form',
      h('p', 'A deregistered AMI cannot launch instances; running instances are not affected.'),
      h('label.field.inline', snaps, 'Also delete the snapshots of its block device mapping')),
    actions: [{
      label: 'Deregister', danger: true,
      onClick: async () => {
        for (const i of images) {
          await ec2(new DeregisterImageCommand({ ImageId: i.ImageId, DeleteAssociatedSnapshots: snaps.checked || undefined }));
        }
        notify('success', `Deregistered ${images.map((i) => i.ImageId).join(', ')}.`);
        reload();
        return true;
      },
    }],
  });
}

function deprecation(image, reload) {
  const at = h('input', { type: 'datetime-local', 'aria-label': 'Deprecation time' });
  const soon = new Date(Date.now() + 30 * 86400e3);
  at.value = (image.DeprecationTime ? new Date(image.DeprecationTime) : soon).toISOString().slice(0, 16);
  modal({
    title: `Deprecation of ${image.ImageId}`,
    body: h('div.form',
      h('p', image.DeprecationTime ? `Deprecated from ${fmtTime(image.DeprecationTime)}.` : 'Not deprecated.'),
      field('Deprecate from (UTC)', at, 'a deprecated AMI still launches, but is hidden from lists unless asked for')),
    actions: [
      image.DeprecationTime ? {
        label: 'Cancel deprecation',
        onClick: async () => {
          await ec2(new DisableImageDeprecationCommand({ ImageId: image.ImageId }));
          notify('success', `${image.ImageId} is no longer deprecated.`);
          reload();
          return true;
        },
      } : null,
      {
        label: 'Set deprecation', primary: true,
        onClick: async () => {
          await ec2(new EnableImageDeprecationCommand({ ImageId: image.ImageId, DeprecateAt: new Date(`${at.value}:00Z`) }));
          notify('success', `${image.ImageId} is deprecated from ${at.value.replace('T', ' ')} UTC.`);
          reload();
          return true;
        },
      },
    ].filter(Boolean),
  });
}

