// Instances: the list, refreshed while it is shown (faster while a machine
// changes state), the life cycle (start, stop, reboot, terminate), the
// guest's console output followed live, its screen, images of it, and the
// volumes attached to it.
import {
  AttachVolumeCommand, CreateImageCommand, DescribeInstancesCommand, DescribeVolumesCommand,
  DetachVolumeCommand, GetConsoleOutputCommand, GetConsoleScreenshotCommand, RebootInstancesCommand,
  StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { allPages, base64Text, ec2 } from '../aws.js';
import { clear, errorText, field, fmtTime, h, kv, menu, modal, notify, select, stateBadge, tabs, tag } from '../ui.js';
import { editTags, link, listPage, pageHead, poll, refreshButton, tagsTable } from './common.js';

const BUSY = new Set(['pending', 'stopping', 'shutting-down']);

export function instancesView(root, route) {
  let selected = [];
  let stateFilter = '';
  let all = [];
  const ids = () => selected.map((i) => i.InstanceId);
  // An action is offered when every selected instance is in one of its states.
  const unlessAll = (...states) => () => !selected.length || !selected.every((i) => states.includes(i.State.Name));
  const one = () => (selected.length === 1 ? selected[0] : null);
  const lifecycle = (Command, verb, extra = {}) => async () => {
    try {
      await ec2(new Command({ InstanceIds: ids(), ...extra }));
      notify('success', `${verb} ${ids().join(', ')}.`);
    } catch (err) {
      notify('error', errorText(err));
    }
    refreshNow();
  };
  const actions = menu('Instance state', [
    { label: 'Start instance', disabled: unlessAll('stopped'), onClick: lifecycle(StartInstancesCommand, 'Starting') },
    { label: 'Stop instance', disabled: unlessAll('running', 'pending'), onClick: lifecycle(StopInstancesCommand, 'Stopping') },
    { label: 'Reboot instance', disabled: unlessAll('running'), onClick: lifecycle(RebootInstancesCommand, 'Rebooting') },
    {
      label: 'Terminate (delete) instance', disabled: () => !selected.length || selected.some((i) => i.State.Name === 'terminated'),
      onClick: () => modal({
        title: 'Terminate (delete) instance?',
        body: h('p', `${ids().join(', ')} will be shut down and deleted, with the volumes that are deleted on termination.`),
        actions: [{ label: 'Terminate (delete)', danger: true, onClick: async () => { await lifecycle(TerminateInstancesCommand, 'Terminating')(); return true; } }],
      }),
    },
  ]);
  const more = menu('Actions', [
    { group: 'Image and templates' },
    { label: 'Create image', disabled: () => !one() || !['running', 'stopped'].includes(one().State.Name), onClick: () => createImage(one()) },
    { group: 'Storage' },
    { label: 'Attach volume', disabled: () => !one() || !['running', 'stopped'].includes(one().State.Name), onClick: () => attachVolume(one(), refreshNow) },
    { label: 'Detach volume', disabled: () => !one() || !['running', 'stopped'].includes(one().State.Name), onClick: () => detachVolume(one(), refreshNow) },
    { group: 'Monitor and troubleshoot' },
    { label: 'Get system log', disabled: () => !one(), onClick: () => showTab('console') },
    { label: 'Get instance screenshot', disabled: () => !one(), onClick: () => showTab('screen') },
    '-',
    { label: 'Manage tags', disabled: () => !one(), onClick: () => editTags(one().InstanceId, one().Tags, refreshNow) },
  ]);
  const filters = [h('label', 'Instance state', select([['', 'All states'], 'pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'], '', {
    'aria-label': 'Instance state filter', onchange: (e) => { stateFilter = e.target.value; show(); },
  }))];
  const body = h('div');
  clear(root, pageHead('Instances', 'Refreshed while shown.'), body);
  let tabRequest = null;
  const showTab = (id) => { tabRequest = id; const b = body.querySelector(`.split [data-tab="${id}"]`); if (b) b.click(); };
  const t = listPage(body, {
    title: 'Instances',
    filters,
    buttons: [refreshButton(() => refreshNow()),
      actions, more, h('a.btn.primary', { href: '#/launch' }, 'Launch instances')],
    searchPlaceholder: 'Find instances by name, ID, address or type',
    columns: [
      { label: 'Name', value: (i) => tag(i.Tags) },
      { label: 'Instance ID', value: (i) => i.InstanceId, render: (i) => h('span.mono', i.InstanceId) },
      { label: 'Instance state', value: (i) => i.State.Name, render: (i) => stateBadge(i.State.Name) },
      { label: 'Instance type', value: (i) => i.InstanceType },
      { label: 'Availability Zone', value: (i) => (i.Placement || {}).AvailabilityZone },
      { label: 'Public IPv4 address', value: (i) => i.PublicIpAddress || '' },
      { label: 'Private IPv4 address', value: (i) => i.PrivateIpAddress || '' },
      { label: 'Key name', value: (i) => i.KeyName || '' },
      { label: 'AMI ID', value: (i) => i.ImageId, render: (i) => link('images', i.ImageId) },
      { label: 'Launch time', value: (i) => (i.LaunchTime ? new Date(i.LaunchTime).toISOString() : ''), render: (i) => fmtTime(i.LaunchTime) },
    ],
    sort: { column: 9, desc: true },
    key: (i) => i.InstanceId,
    search: (i) => `${tag(i.Tags)} ${i.InstanceId} ${i.PublicIpAddress || ''} ${i.PrivateIpAddress || ''} ${i.InstanceType}`,
    empty: 'No instances. Launch one from an image.',
    onSelect(rows) { selected = rows; },
    detail: (i, el) => {
      const d = instanceDetail(i, el, tabRequest);
      tabRequest = null;
      return d;
    },
    refresh: (i, el) => { if (el.update) el.update(i); },
  });

  function show() {
    t.setRows(stateFilter ? all.filter((i) => i.State.Name === stateFilter) : all);
  }
  let first = true;
  async function refresh() {
    try {
      all = (await allPages((NextToken) => ec2(new DescribeInstancesCommand({ NextToken })), (r) => r.Reservations))
        .flatMap((r) => r.Instances || []);
      show();
      if (first && route.id) t.select(route.id);
      first = false;
    } catch (err) {
      t.setError(`Cannot list instances: ${errorText(err)}`);
    }
  }
  const stop = poll(refresh, () => (all.some((i) => BUSY.has(i.State.Name)) ? 1000 : 3000));
  function refreshNow() { refresh(); }
  return () => { stop(); t.dispose(); };
}

function addresses(i) {
  return [
    ['Public IPv4 address', i.PublicIpAddress], ['Private IPv4 address', i.PrivateIpAddress],
    ['Public DNS', i.PublicDnsName], ['Private DNS', i.PrivateDnsName],
  ];
}

function instanceDetail(instance, el, initialTab) {
  let current = instance;
  const stateEl = h('span');
  const head = h('div.detail-head', h('h2', tag(instance.Tags) || instance.InstanceId), h('span.mono.muted', instance.InstanceId), stateEl);
  const drawers = [];
  const detailsTab = (b) => {
    const draw = () => clear(b, kv([
      ['Instance ID', h('span.mono', current.InstanceId)], ['Instance state', stateBadge(current.State.Name)],
      ['State reason', current.StateReason && current.StateReason.Message], ['Instance type', current.InstanceType],
      ...addresses(current),
      ['AMI ID', link('images', current.ImageId)], ['Key pair', current.KeyName], ['Launch time', fmtTime(current.LaunchTime)],
      ['Availability Zone', (current.Placement || {}).AvailabilityZone], ['Architecture', current.Architecture],
      ['Virtualization', current.VirtualizationType], ['Root device', `${current.RootDeviceName || '-'} (${current.RootDeviceType || '-'})`],
      ['Kernel ID', current.KernelId], ['RAM disk ID', current.RamdiskId], ['Platform', current.PlatformDetails],
      ['Lifecycle', current.InstanceLifecycle || 'normal'],
    ]));
    draw();
    drawers.push(draw);
    return () => drawers.splice(drawers.indexOf(draw), 1);
  };
  const networkTab = (b) => {
    const draw = () => {
      const eni = (current.NetworkInterfaces || [])[0] || {};
      clear(b, kv([
        ...addresses(current), ['VPC ID', current.VpcId], ['Subnet ID', current.SubnetId],
        ['Network interface', eni.NetworkInterfaceId], ['MAC address', eni.MacAddress],
        ['Security groups', h('span', (current.SecurityGroups || []).map((g, k) => [k ? ', ' : '', h('a', { href: `#/security-groups/${g.GroupId}` }, `${g.GroupName} (${g.GroupId})`)]))],
      ]));
    };
    draw();
    drawers.push(draw);
    return () => drawers.splice(drawers.indexOf(draw), 1);
  };
  const storageTab = (b) => {
    const draw = () => clear(b, h('div.panel-body.row',
      h('button.btn', { onclick: () => attachVolume(current, () => {}) }, 'Attach volume'),
      h('button.btn', { onclick: () => detachVolume(current, () => {}) }, 'Detach volume')),
    h('div.table-wrap', h('table.grid',
      h('thead', h('tr', ['Device name', 'Volume ID', 'Attachment status', 'Attach time', 'Delete on termination'].map((x) => h('th', x)))),
      h('tbody', (current.BlockDeviceMappings || []).map((m) => h('tr', h('td.mono', m.DeviceName),
        h('td', m.Ebs ? link('volumes', m.Ebs.VolumeId) : '-'), h('td', m.Ebs ? stateBadge(m.Ebs.Status) : '-'),
        h('td', m.Ebs ? fmtTime(m.Ebs.AttachTime) : '-'), h('td', m.Ebs ? String(Boolean(m.Ebs.DeleteOnTermination)) : '-')))))));
    draw();
    drawers.push(draw);
    return () => drawers.splice(drawers.indexOf(draw), 1);
  };
  const t = tabs([
    { id: 'details', label: 'Details', render: detailsTab },
    { id: 'networking', label: 'Networking', render: networkTab },
    { id: 'storage', label: 'Storage', render: storageTab },
    { id: 'console', label: 'Console output', render: (b) => consoleOutput(current.InstanceId, b) },
    { id: 'screen', label: 'Screenshot', render: (b) => screenshot(current.InstanceId, b) },
    { id: 'tags', label: 'Tags', render: (b) => b.append(h('div.panel-body', h('button.btn', { onclick: () => editTags(current.InstanceId, current.Tags, () => {}) }, 'Manage tags')), tagsTable(current.Tags)) },
  ], initialTab);
  clear(stateEl, stateBadge(instance.State.Name));
  el.append(head, t);
  el.update = (i) => {
    current = i;
    clear(stateEl, stateBadge(i.State.Name));
    drawers.forEach((d) => d());
  };
  return () => { el.update = null; t.dispose(); };
}

// The guest's serial console, fetched every 2 s while shown; it follows the
// end unless the reader scrolled up.
function consoleOutput(instanceId, el) {
  const out = h('pre.terminal', { id: 'console-output', 'aria-label': 'Console output', tabindex: 0 }, 'Waiting for output…');
  const when = h('span.muted.small');
  el.append(h('div.panel-body', h('div.row', h('span', 'The serial console of the instance, as GetConsoleOutput returns it.'), h('span.spacer'), when), out));
  let last = null;
  return poll(async () => {
    try {
      const r = await ec2(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
      const text = base64Text(r.Output);
      when.textContent = `Updated ${fmtTime(new Date())}`;
      if (text === last) return;
      last = text;
      const follow = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
      out.textContent = text || 'No output yet.';
      if (follow) out.scrollTop = out.scrollHeight;
    } catch (err) {
      when.textContent = errorText(err);
    }
  }, 2000);
}

// A screenshot of the screen (GetConsoleScreenshot: amibox grabs the VGA
// display of the guest); against an API without it, the last 25 lines of
// the console output stand for the screen.
let screenshotSupported = true;
function screenshot(instanceId, el) {
  const box = h('div.panel-body', h('p.muted', 'Taking a screenshot…'));
  el.append(box);
  let alive = true;
  const fallback = async (why) => {
    const r = await ec2(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
    if (!alive) return;
    const lines = base64Text(r.Output).replace(/\r/g, '').split('\n').slice(-25).map((l) => l.slice(0, 80));
    clear(box, h('p.muted', `No picture of the screen: ${why} This is the end of the serial console instead.`),
      h('div.screen', { id: 'instance-screen', role: 'img', 'aria-label': 'Console text' }, lines.join('\n')),
      h('p', h('button.btn', { onclick: () => { clear(el); screenshot(instanceId, el); } }, 'Refresh')));
  };
  (async () => {
    if (screenshotSupported) {
      try {
        const r = await ec2(new GetConsoleScreenshotCommand({ InstanceId: instanceId, WakeUp: true }));
        if (!alive) return;
        clear(box, h('img', { src: `data:image/jpeg;base64,${r.ImageData}`, alt: `Screen of ${instanceId}`, id: 'instance-screen' }),
          h('p', h('button.btn', { onclick: () => { clear(el); screenshot(instanceId, el); } }, 'Refresh')));
        return;
      } catch (err) {
        if (!/InvalidAction|UnsupportedOperation|NotImplemented|UnknownOperation/.test(err.name || '')) throw err;
        screenshotSupported = false;
      }
    }
    await fallback('this endpoint does not offer GetConsoleScreenshot.');
  })().catch((err) => { if (alive) clear(box, h('div.notice.error', errorText(err))); });
  return () => { alive = false; };
}

function createImage(instance) {
  const name = h('input', { id: 'image-name', value: `${tag(instance.Tags) || instance.InstanceId}-${new Date().toISOString().slice(0, 10)}`, 'aria-label': 'Image name' });
  const description = h('input', { 'aria-label': 'Image description' });
  const noReboot = h('input', { type: 'checkbox', id: 'image-no-reboot' });
  modal({
    title: `Create image of ${instance.InstanceId}`,
    body: h('div.form', field('Image name', name), field('Image description', description),
      h('label.field.inline', noReboot, 'No reboot: image the running machine as it is (its file systems may not be consistent)')),
    actions: [{
      label: 'Create image', primary: true,
      onClick: async () => {
        const r = await ec2(new CreateImageCommand({
          InstanceId: instance.InstanceId, Name: name.value.trim(), Description: description.value || undefined,
          NoReboot: noReboot.checked || undefined,
        }));
        notify('success', 'Creating image ', h('a.mono', { href: `#/images/${r.ImageId}`, id: 'created-image-link' }, r.ImageId), '.');
        return true;
      },
    }],
  });
}

async function attachVolume(instance, done) {
  const zone = (instance.Placement || {}).AvailabilityZone;
  const vols = await ec2(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }, { Name: 'availability-zone', Values: [zone] }] }));
  const list = vols.Volumes || [];
  const volume = select(list.map((v) => [v.VolumeId, `${v.VolumeId} (${v.Size} GiB ${v.VolumeType}${tag(v.Tags) ? `, ${tag(v.Tags)}` : ''})`]), '', { 'aria-label': 'Volume' });
  const used = new Set((instance.BlockDeviceMappings || []).map((m) => m.DeviceName));
  const letter = 'fghijklmnop'.split('').find((c) => !used.has(`/dev/sd${c}`) && !used.has(`/dev/xvd${c}`));
  const device = h('input', { value: `/dev/sd${letter}`, 'aria-label': 'Device name' });
  modal({
    title: `Attach a volume to ${instance.InstanceId}`,
    body: list.length ? h('div.form', field('Volume', volume, `available volumes in ${zone}`), field('Device name', device))
      : h('p', `No available volume in ${zone}. Create one on the Volumes page.`),
    actions: list.length ? [{
      label: 'Attach volume', primary: true,
      onClick: async () => {
        await ec2(new AttachVolumeCommand({ InstanceId: instance.InstanceId, VolumeId: volume.value, Device: device.value.trim() }));
        notify('success', `Attaching ${volume.value} as ${device.value.trim()}.`);
        done();
        return true;
      },
    }] : [],
  });
}

function detachVolume(instance, done) {
  const attached = (instance.BlockDeviceMappings || []).filter((m) => m.Ebs && m.DeviceName !== instance.RootDeviceName);
  const volume = select(attached.map((m) => [m.Ebs.VolumeId, `${m.Ebs.VolumeId} (${m.DeviceName})`]), '', { 'aria-label': 'Volume' });
  const force = h('input', { type: 'checkbox' });
  modal({
    title: `Detach a volume from ${instance.InstanceId}`,
    body: attached.length ? h('div.form', field('Volume', volume),
      h('label.field.inline', force, 'Force: cut the guest off at once (it loses unwritten data)'))
      : h('p', 'No volume but the root volume is attached.'),
    actions: attached.length ? [{
      label: 'Detach volume', danger: true,
      onClick: async () => {
        await ec2(new DetachVolumeCommand({ VolumeId: volume.value, InstanceId: instance.InstanceId, Force: force.checked || undefined }));
        notify('success', `Detaching ${volume.value}.`);
        done();
        return true;
      },
    }] : [],
  });
}

