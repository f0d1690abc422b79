// Snapshots (EBS): this account's, made from volumes or imported; create
// a volume from one, register an image from one, copy, delete.
import {
  CopySnapshotCommand, CreateSnapshotCommand, DeleteSnapshotCommand, DescribeSnapshotsCommand,
  DescribeVolumesCommand, RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { allPages, ec2, getConfig } from '../aws.js';
import { clear, field, fmtTime, h, kv, menu, modal, notify, select, stateBadge, tabs, tag } from '../ui.js';
import { deleteItem, link, listPage, pageHead, refreshButton, tagsItem, tagsTable } from './common.js';
import { createVolume } from './volumes.js';

export function snapshotsView(root, route) {
  let selected = [];
  const refresh = () => t.refresh();
  const one = () => (selected.length === 1 ? selected[0] : null);
  const completed = () => one() && one().State === 'completed';
  const actions = menu('Actions', [
    { label: 'Create volume from snapshot', disabled: () => !completed(), onClick: () => createVolume(one(), () => {}) },
    { label: 'Create image from snapshot', disabled: () => !completed(), onClick: () => registerFromSnapshot(one()) },
    { label: 'Copy snapshot', disabled: () => !completed(), onClick: () => copySnapshot(one(), refresh) },
    deleteItem({
      label: 'Delete snapshots', selected: () => selected, name: (x) => x.SnapshotId, done: refresh,
      del: (x) => ec2(new DeleteSnapshotCommand({ SnapshotId: x.SnapshotId })),
      note: 'Blocks other snapshots share stay.',
    }),
    '-',
    tagsItem(() => selected, (x) => x.SnapshotId, refresh),
  ]);
  const body = h('div');
  clear(root, pageHead('Snapshots', 'Incremental, deduplicated block snapshots owned by this account.'), body);
  const t = listPage(body, {
    title: 'Snapshots',
    load: () => allPages((NextToken) => ec2(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 1000, NextToken })), (r) => r.Snapshots),
    every: 5000,
    selectId: route.id,
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { onclick: () => snapshotVolume(refresh) }, 'Create snapshot')],
    searchPlaceholder: 'Find snapshots by name, ID, description or volume',
    columns: [
      { label: 'Name', value: (s) => tag(s.Tags) },
      { label: 'Snapshot ID', value: (s) => s.SnapshotId, render: (s) => h('span.mono', s.SnapshotId) },
      { label: 'Volume size', value: (s) => s.VolumeSize, render: (s) => `${s.VolumeSize} GiB` },
      { label: 'Description', value: (s) => s.Description || '' },
      { label: 'Snapshot status', value: (s) => s.State, render: (s) => stateBadge(s.State) },
      { label: 'Progress', value: (s) => s.Progress || '' },
      { label: 'Started', value: (s) => (s.StartTime ? new Date(s.StartTime).toISOString() : ''), render: (s) => fmtTime(s.StartTime) },
      { label: 'Volume', value: (s) => s.VolumeId || '', render: (s) => (s.VolumeId && s.VolumeId !== 'vol-ffffffff' ? link('volumes', s.VolumeId) : '-') },
    ],
    sort: { column: 6, desc: true },
    key: (s) => s.SnapshotId,
    search: (s) => `${tag(s.Tags)} ${s.SnapshotId} ${s.Description || ''} ${s.VolumeId || ''}`,
    empty: 'No snapshots.',
    onSelect(rows) { selected = rows; },
    detail: (s, el) => {
      const tb = tabs([
        { id: 'details', label: 'Details', render: (b) => b.append(kv([
          ['Snapshot ID', h('span.mono', s.SnapshotId)], ['Owner', s.OwnerId], ['Volume', s.VolumeId], ['Volume size', `${s.VolumeSize} GiB`],
          ['State', stateBadge(s.State)], ['State message', s.StateMessage], ['Progress', s.Progress], ['Started', fmtTime(s.StartTime)],
          ['Completed', fmtTime(s.CompletionTime)], ['Description', s.Description], ['Encrypted', String(Boolean(s.Encrypted))],
          ['Storage tier', s.StorageTier], ['Full snapshot size', s.FullSnapshotSizeInBytes ? `${s.FullSnapshotSizeInBytes} bytes` : '-'],
        ])) },
        { id: 'tags', label: 'Tags', render: (b) => b.append(tagsTable(s.Tags)) },
      ]);
      el.append(h('div.detail-head', h('h2', tag(s.Tags) || s.SnapshotId), h('span.mono.muted', s.SnapshotId)), tb);
      return () => tb.dispose();
    },
  });
  return () => t.dispose();
}

async function snapshotVolume(done) {
  const vols = (await ec2(new DescribeVolumesCommand({}))).Volumes || [];
  const volume = select(vols.map((v) => [v.VolumeId, `${v.VolumeId} (${v.Size} GiB${tag(v.Tags) ? `, ${tag(v.Tags)}` : ''})`]), '', { 'aria-label': 'Volume' });
  const description = h('input', { 'aria-label': 'Description' });
  modal({
    title: 'Create snapshot',
    body: vols.length ? h('div.form', field('Volume', volume), field('Description', description)) : h('p', 'No volumes to snapshot.'),
    actions: vols.length ? [{
      label: 'Create snapshot', primary: true,
      onClick: async () => {
        const r = await ec2(new CreateSnapshotCommand({ VolumeId: volume.value, Description: description.value || undefined }));
        notify('success', 'Creating snapshot ', link('snapshots', r.SnapshotId), '.');
        done();
        return true;
      },
    }] : [],
  });
}

// RegisterImage with the snapshot as the root volume.
function registerFromSnapshot(snap) {
  const name = h('input', { value: `from-${snap.SnapshotId}`, 'aria-label': 'Image name' });
  const description = h('input', { value: snap.Description || '', 'aria-label': 'Image description' });
  const arch = select(['x86_64', 'i386', 'arm64'], 'x86_64', { 'aria-label': 'Architecture' });
  const virt = select([['hvm', 'Hardware-assisted virtualization (hvm)'], ['paravirtual', 'Paravirtual (PV-GRUB)']], 'hvm', { 'aria-label': 'Virtualization type' });
  const rootName = h('input', { value: '/dev/xvda', 'aria-label': 'Root device name' });
  const type = select(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'], 'gp3', { 'aria-label': 'Volume type' });
  const size = h('input', { type: 'number', min: snap.VolumeSize, value: String(snap.VolumeSize), 'aria-label': 'Root volume size' });
  modal({
    title: `Create an image from ${snap.SnapshotId}`,
    body: h('div.form', field('Image name', name), field('Description', description), field('Architecture', arch),
      field('Virtualization type', virt), field('Root device name', rootName), h('div.row', field('Volume type', type), field('Size (GiB)', size))),
    actions: [{
      label: 'Create image', primary: true,
      onClick: async () => {
        const r = await ec2(new RegisterImageCommand({
          Name: name.value.trim(), Description: description.value || undefined, Architecture: arch.value,
          VirtualizationType: virt.value, RootDeviceName: rootName.value.trim(),
          BlockDeviceMappings: [{ DeviceName: rootName.value.trim(), Ebs: { SnapshotId: snap.SnapshotId, VolumeType: type.value, VolumeSize: Number(size.value), DeleteOnTermination: true } }],
        }));
        notify('success', 'Registered ', link('images', r.ImageId), '.');
        return true;
      },
    }],
  });
}

function copySnapshot(snap, done) {
  const description = h('input', { value: `Copy of ${snap.SnapshotId}`, 'aria-label': 'Description' });
  modal({
    title: `Copy ${snap.SnapshotId}`,
    body: h('div.form', field('Description', description), h('p.muted', 'The copy maps the same blocks: nothing is copied.')),
    actions: [{
      label: 'Copy snapshot', primary: true,
      onClick: async () => {
        const r = await ec2(new CopySnapshotCommand({ SourceSnapshotId: snap.SnapshotId, SourceRegion: getConfig().region, Description: description.value }));
        notify('success', 'Copied to ', link('snapshots', r.SnapshotId), '.');
        done();
        return true;
      },
    }],
  });
}
