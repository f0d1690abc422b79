// Volumes (EBS): create (empty or from a snapshot), attach, detach,
// snapshot, delete; the detail shows the attachment and the tags.
import {
  AttachVolumeCommand, CreateSnapshotCommand, CreateVolumeCommand, DeleteVolumeCommand,
  DescribeAvailabilityZonesCommand, DescribeInstancesCommand, DescribeVolumesCommand, DetachVolumeCommand,
} from '@aws-sdk/client-ec2';
import { allPages, ec2 } from '../aws.js';
import { clear, field, fmtTime, h, kv, menu, modal, notify, select, stateBadge, tabs, tag } from '../ui.js';
import { deleteItem, link, listPage, pageHead, refreshButton, tagsItem, tagsTable } from './common.js';

const TYPES = ['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'];

export function volumesView(root, route) {
  let selected = [];
  const refresh = () => t.refresh();
  const one = () => (selected.length === 1 ? selected[0] : null);
  const attachment = (v) => (v.Attachments || [])[0];
  const actions = menu('Actions', [
    { label: 'Create snapshot', disabled: () => !one(), onClick: () => createSnapshot(one()) },
    { label: 'Attach volume', disabled: () => !one() || one().State !== 'available', onClick: () => attach(one(), refresh) },
    { label: 'Detach volume', disabled: () => !one() || one().State !== 'in-use', onClick: () => detach(one(), refresh) },
    deleteItem({
      label: 'Delete volumes', selected: () => selected, name: (v) => v.VolumeId, done: refresh,
      del: (v) => ec2(new DeleteVolumeCommand({ VolumeId: v.VolumeId })),
      allowed: (rows) => rows.every((v) => v.State === 'available'),
      note: 'Their data is gone; their snapshots stay.',
    }),
    '-',
    tagsItem(() => selected, (v) => v.VolumeId, refresh),
  ]);
  const body = h('div');
  clear(root, pageHead('Volumes', 'Block volumes: lazily made from snapshots, served to machines over NBD.'), body);
  const t = listPage(body, {
    title: 'Volumes',
    load: () => allPages((NextToken) => ec2(new DescribeVolumesCommand({ MaxResults: 500, NextToken })), (r) => r.Volumes),
    every: 5000,
    selectId: route.id,
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { onclick: () => createVolume(null, refresh) }, 'Create volume')],
    searchPlaceholder: 'Find volumes by name, ID or snapshot',
    columns: [
      { label: 'Name', value: (v) => tag(v.Tags) },
      { label: 'Volume ID', value: (v) => v.VolumeId, render: (v) => h('span.mono', v.VolumeId) },
      { label: 'Type', value: (v) => v.VolumeType },
      { label: 'Size', value: (v) => v.Size, render: (v) => `${v.Size} GiB` },
      { label: 'IOPS', value: (v) => v.Iops ?? '' },
      { label: 'Throughput', value: (v) => v.Throughput ?? '' },
      { label: 'Snapshot', value: (v) => v.SnapshotId || '', render: (v) => (v.SnapshotId ? link('snapshots', v.SnapshotId) : '-') },
      { label: 'Created', value: (v) => (v.CreateTime ? new Date(v.CreateTime).toISOString() : ''), render: (v) => fmtTime(v.CreateTime) },
      { label: 'Availability Zone', value: (v) => v.AvailabilityZone },
      { label: 'Volume state', value: (v) => v.State, render: (v) => stateBadge(v.State) },
      { label: 'Attached to', value: (v) => (attachment(v) ? `${attachment(v).InstanceId} ${attachment(v).Device}` : ''),
        render: (v) => (attachment(v) ? h('span', link('instances', attachment(v).InstanceId), ` (${attachment(v).Device}, ${attachment(v).State})`) : '-') },
    ],
    sort: { column: 7, desc: true },
    key: (v) => v.VolumeId,
    search: (v) => `${tag(v.Tags)} ${v.VolumeId} ${v.SnapshotId || ''}`,
    empty: 'No volumes.',
    onSelect(rows) { selected = rows; },
    detail: (v, el) => {
      const a = attachment(v);
      const tb = tabs([
        { id: 'details', label: 'Details', render: (b) => b.append(kv([
          ['Volume ID', h('span.mono', v.VolumeId)], ['Size', `${v.Size} GiB`], ['Type', v.VolumeType], ['IOPS', v.Iops],
          ['Throughput', v.Throughput], ['Snapshot', link('snapshots', v.SnapshotId)], ['Availability Zone', v.AvailabilityZone],
          ['State', stateBadge(v.State)], ['Created', fmtTime(v.CreateTime)], ['Encrypted', String(Boolean(v.Encrypted))],
          ['Multi-attach', String(Boolean(v.MultiAttachEnabled))],
          ['Attached to', a ? h('span', link('instances', a.InstanceId), ` as ${a.Device} (${a.State})`) : 'nothing'],
          ['Delete on termination', a ? String(Boolean(a.DeleteOnTermination)) : '-'],
        ])) },
        { id: 'tags', label: 'Tags', render: (b) => b.append(tagsTable(v.Tags)) },
      ]);
      el.append(h('div.detail-head', h('h2', tag(v.Tags) || v.VolumeId), h('span.mono.muted', v.VolumeId)), tb);
      return () => tb.dispose();
    },
  });
  return () => t.dispose();
}

// Create volume, empty or from snapshot (snapshot given: its size is the floor).
export async function createVolume(snapshot, done) {
  const zones = (await ec2(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones || [];
  const type = select(TYPES, 'gp3', { 'aria-label': 'Volume type' });
  const size = h('input', { type: 'number', min: 1, max: 16384, value: String(snapshot ? snapshot.VolumeSize : 8), 'aria-label': 'Size (GiB)' });
  const iops = h('input', { type: 'number', min: 100, placeholder: 'type default', 'aria-label': 'IOPS' });
  const zone = select(zones.map((z) => z.ZoneName), zones.length ? zones[0].ZoneName : '', { 'aria-label': 'Availability Zone' });
  const snap = h('input', { value: snapshot ? snapshot.SnapshotId : '', placeholder: 'snap-... (empty for an empty volume)', 'aria-label': 'Snapshot ID' });
  const name = h('input', { 'aria-label': 'Name tag' });
  modal({
    title: snapshot ? `Create a volume from ${snapshot.SnapshotId}` : 'Create volume',
    body: h('div.form', field('Volume type', type), field('Size (GiB)', size, 'up to 16,384'), field('IOPS', iops, 'io1, io2 and gp3'),
      field('Availability Zone', zone), field('Snapshot ID', snap), field('Name', name)),
    actions: [{
      label: 'Create volume', primary: true,
      onClick: async () => {
        const r = await ec2(new CreateVolumeCommand({
          VolumeType: type.value, Size: Number(size.value), AvailabilityZone: zone.value,
          Iops: iops.value ? Number(iops.value) : undefined, SnapshotId: snap.value.trim() || undefined,
          TagSpecifications: name.value.trim() ? [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: name.value.trim() }] }] : undefined,
        }));
        notify('success', 'Created volume ', link('volumes', r.VolumeId), '.');
        done(r);
        return true;
      },
    }],
  });
}

function createSnapshot(volume) {
  const description = h('input', { value: `Snapshot of ${volume.VolumeId}`, 'aria-label': 'Snapshot description' });
  modal({
    title: `Snapshot ${volume.VolumeId}`,
    body: h('div.form', h('p.muted', 'A point in time, even while a machine writes; it costs what changed since the last snapshot.'),
      field('Description', description)),
    actions: [{
      label: 'Create snapshot', primary: true,
      onClick: async () => {
        const r = await ec2(new CreateSnapshotCommand({ VolumeId: volume.VolumeId, Description: description.value }));
        notify('success', 'Creating snapshot ', link('snapshots', r.SnapshotId), '.');
        return true;
      },
    }],
  });
}

async function attach(volume, done) {
  const r = await ec2(new DescribeInstancesCommand({ Filters: [
    { Name: 'availability-zone', Values: [volume.AvailabilityZone] },
    { Name: 'instance-state-name', Values: ['running', 'stopped'] }] }));
  const instances = (r.Reservations || []).flatMap((x) => x.Instances || []);
  const instance = select(instances.map((i) => [i.InstanceId, `${i.InstanceId}${tag(i.Tags) ? ` (${tag(i.Tags)})` : ''} — ${i.State.Name}`]), '', { 'aria-label': 'Instance' });
  const device = h('input', { value: '/dev/sdf', 'aria-label': 'Device name' });
  modal({
    title: `Attach ${volume.VolumeId}`,
    body: instances.length ? h('div.form', field('Instance', instance, `in ${volume.AvailabilityZone}`), field('Device name', device))
      : h('p', `No running or stopped instance in ${volume.AvailabilityZone}.`),
    actions: instances.length ? [{
      label: 'Attach volume', primary: true,
      onClick: async () => {
        await ec2(new AttachVolumeCommand({ VolumeId: volume.VolumeId, InstanceId: instance.value, Device: device.value.trim() }));
        notify('success', `Attaching ${volume.VolumeId} to ${instance.value}.`);
        done();
        return true;
      },
    }] : [],
  });
}

function detach(volume, done) {
  const force = h('input', { type: 'checkbox' });
  modal({
    title: `Detach ${volume.VolumeId}`,
    body: h('div.form', h('p', `From ${volume.Attachments[0].InstanceId} (${volume.Attachments[0].Device}).`),
      h('label.field.inline', force, 'Force: cut the guest off at once')),
    actions: [{
      label: 'Detach', danger: true,
      onClick: async () => {
        await ec2(new DetachVolumeCommand({ VolumeId: volume.VolumeId, Force: force.checked || undefined }));
        notify('success', `Detaching ${volume.VolumeId}.`);
        done();
        return true;
      },
    }],
  });
}
