// The launch wizard, as EC2's: name, image, instance type, key pair
// (created here, its private key downloaded once), network (subnet, public
// address, security groups, or a new group with SSH open to the caller),
// storage, user data, count; then RunInstances.
import {
  AuthorizeSecurityGroupIngressCommand, CreateKeyPairCommand, CreateSecurityGroupCommand,
  DescribeImagesCommand, DescribeInstanceTypesCommand, DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { allPages, download, ec2, getConfig, textBase64 } from '../aws.js';
import { clear, errorText, field, fmtBytes, h, notify, select, tag } from '../ui.js';
import { pageHead } from './common.js';

const VOLUME_TYPES = ['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'];

async function launchData() {
  const [own, shared, types, keys, subnets, groups, vpcs] = await Promise.all([
    allPages((NextToken) => ec2(new DescribeImagesCommand({ Owners: ['self', 'amazon'], MaxResults: 1000, NextToken })), (r) => r.Images),
    ec2(new DescribeImagesCommand({ ExecutableUsers: ['self'] })).then((r) => r.Images || []),
    allPages((NextToken) => ec2(new DescribeInstanceTypesCommand({ MaxResults: 100, NextToken })), (r) => r.InstanceTypes),
    ec2(new DescribeKeyPairsCommand({})).then((r) => r.KeyPairs || []),
    ec2(new DescribeSubnetsCommand({})).then((r) => r.Subnets || []),
    ec2(new DescribeSecurityGroupsCommand({})).then((r) => r.SecurityGroups || []),
    ec2(new DescribeVpcsCommand({})).then((r) => r.Vpcs || []),
  ]);
  const images = new Map();
  for (const i of [...own, ...shared]) if (i.State === 'available') images.set(i.ImageId, i);
  return { images: [...images.values()], types, keys, subnets, groups, vpcs };
}

export function launchView(root, route) {
  clear(root, pageHead('Launch an instance', 'Instances are real virtual machines, booted from the image\'s root volume.'),
    h('p.loading', 'Loading images, instance types, key pairs and networks…'));
  let alive = true;
  launchData().then((d) => { if (alive) wizard(root, route, d); })
    .catch((err) => { if (alive) clear(root, h('div.notice.error', `Cannot prepare the launch: ${errorText(err)}`)); });
  return () => { alive = false; };
}

function wizard(root, route, d) {
  const byId = new Map(d.images.map((i) => [i.ImageId, i]));
  const wanted = route.params.get('image');
  let image = byId.get(wanted) || d.images.find((i) => i.Name === 'amibox-sample-hvm') || d.images[0];
  const name = h('input', { id: 'launch-name', placeholder: 'e.g. my web server', 'aria-label': 'Name' });

  // ---- image
  const imageSelect = select(d.images.map((i) => [i.ImageId, `${i.Name || '(no name)'} — ${i.ImageId}`]),
    image && image.ImageId, { id: 'launch-image', 'aria-label': 'Image' });
  const imageInfo = h('div.muted.small');
  // ---- instance type
  const typeSelect = h('select', { id: 'launch-type', 'aria-label': 'Instance type' });
  const typeInfo = h('div.muted.small');
  // ---- key pair
  const keySelect = h('select', { id: 'launch-key', 'aria-label': 'Key pair' });
  const fillKeys = (chosen) => {
    clear(keySelect, h('option', { value: '' }, 'Proceed without a key pair'),
      d.keys.map((k) => h('option', { value: k.KeyName, selected: k.KeyName === chosen }, `${k.KeyName} (${k.KeyType || 'rsa'})`)));
  };
  fillKeys(d.keys.length ? d.keys[0].KeyName : '');
  const keyForm = newKeyPairForm((k) => { d.keys.push(k); fillKeys(k.KeyName); });
  // ---- network
  const defaultVpc = d.vpcs.find((v) => v.IsDefault);
  const subnetSelect = select([['', 'No preference (the default subnet of a zone)'],
    ...d.subnets.map((s) => [s.SubnetId, `${s.SubnetId} | ${s.AvailabilityZone} | ${s.CidrBlock}${tag(s.Tags) ? ` | ${tag(s.Tags)}` : ''}${s.DefaultForAz ? ' (default)' : ''}`])],
  '', { id: 'launch-subnet', 'aria-label': 'Subnet' });
  const publicIp = select([['', 'Subnet setting'], ['true', 'Enable'], ['false', 'Disable']], '', { 'aria-label': 'Auto-assign public IP' });
  const sgMode = { value: 'create' };
  const sgCreate = h('input', { type: 'radio', name: 'sg-mode', checked: true, onchange: () => { sgMode.value = 'create'; drawGroups(); } });
  const sgExisting = h('input', { type: 'radio', name: 'sg-mode', onchange: () => { sgMode.value = 'existing'; drawGroups(); } });
  const sgName = h('input', { id: 'launch-sg-name', value: `launch-wizard-${Date.now().toString(36).slice(-5)}`, 'aria-label': 'Security group name' });
  const callerIp = getConfig().caller_ip;
  const callerCidr = callerIp ? (callerIp.includes(':') ? `${callerIp}/128` : `${callerIp}/32`) : '';
  const sshOpen = h('input', { type: 'checkbox', checked: true, id: 'launch-ssh' });
  const sshFrom = select([[callerCidr || '0.0.0.0/0', callerCidr ? `My IP (${callerCidr})` : 'Anywhere (0.0.0.0/0)'], ['0.0.0.0/0', 'Anywhere (0.0.0.0/0)']],
    callerCidr || '0.0.0.0/0', { 'aria-label': 'Allow SSH from' });
  const groupsBox = h('div.form');
  const chosenGroups = new Set();
  const vpcOf = () => {
    const s = d.subnets.find((x) => x.SubnetId === subnetSelect.value);
    return s ? s.VpcId : defaultVpc && defaultVpc.VpcId;
  };
  function drawGroups() {
    if (sgMode.value === 'create') {
      clear(groupsBox, field('Security group name', sgName),
        h('label.field.inline', sshOpen, 'Allow SSH traffic from', sshFrom));
      return;
    }
    const vpc = vpcOf();
    const groups = d.groups.filter((g) => !vpc || g.VpcId === vpc);
    clear(groupsBox, groups.length ? groups.map((g) => h('label.field.inline',
      h('input', {
        type: 'checkbox', checked: chosenGroups.has(g.GroupId), value: g.GroupId,
        onchange: (ev) => { if (ev.target.checked) chosenGroups.add(g.GroupId); else chosenGroups.delete(g.GroupId); },
      }), h('span', `${g.GroupName} `, h('span.mono.muted', g.GroupId), g.Description ? h('span.muted', ` — ${g.Description}`) : null)))
      : h('p.muted', 'No security group in this VPC.'));
  }
  subnetSelect.addEventListener('change', drawGroups);
  drawGroups();
  // ---- storage
  const storage = h('div');
  let volumes = [];
  // ---- advanced
  const userData = h('textarea', { id: 'launch-user-data', placeholder: '#!/bin/sh\necho hello', 'aria-label': 'User data' });
  const userDataB64 = h('input', { type: 'checkbox' });
  const shutdown = select([['stop', 'Stop'], ['terminate', 'Terminate']], 'stop', { 'aria-label': 'Shutdown behavior' });
  const protect = h('input', { type: 'checkbox' });
  const count = h('input', { id: 'launch-count', type: 'number', min: 1, max: 20, value: '1', 'aria-label': 'Number of instances' });
  const summary = h('dl');
  const error = h('div.notice.error', { hidden: true, role: 'alert' });
  const launchButton = h('button.btn.primary', { id: 'launch-submit', onclick: () => launch() }, 'Launch instance');

  function fitsImage(t) {
    if (!image) return true;
    const virt = (t.SupportedVirtualizationTypes || []).includes(image.VirtualizationType);
    const arch = !image.Architecture || ((t.ProcessorInfo || {}).SupportedArchitectures || []).includes(image.Architecture);
    const store = image.RootDeviceType !== 'instance-store' || t.InstanceStorageSupported;
    return virt && arch && store;
  }
  function drawTypes() {
    const keep = typeSelect.value;
    const types = d.types.filter(fitsImage).sort((a, b) =>
      a.InstanceType.localeCompare(b.InstanceType, 'en', { numeric: true }));
    const preferred = types.some((t) => t.InstanceType === keep) ? keep
      : (types.find((t) => t.InstanceType === 't2.micro') || types.find((t) => t.InstanceType === 'm1.small') || types[0] || {}).InstanceType;
    clear(typeSelect, types.map((t) => h('option', { value: t.InstanceType, selected: t.InstanceType === preferred },
      `${t.InstanceType} — ${(t.VCpuInfo || {}).DefaultVCpus || '?'} vCPU, ${fmtBytes(((t.MemoryInfo || {}).SizeInMiB || 0) * 1048576)}${t.InstanceStorageSupported ? `, ${(t.InstanceStorageInfo || {}).TotalSizeInGB} GB instance store` : ''}`)));
    if (!types.length) typeSelect.append(h('option', { value: '' }, 'No instance type runs this image'));
    drawTypeInfo();
  }
  function drawTypeInfo() {
    const t = d.types.find((x) => x.InstanceType === typeSelect.value);
    typeInfo.textContent = t ? `${(t.ProcessorInfo || {}).SupportedArchitectures?.join(', ') || ''}; ${(t.SupportedVirtualizationTypes || []).join(', ')}; ${t.CurrentGeneration ? 'current generation' : 'previous generation'}` : '';
    drawSummary();
  }
  function drawImage() {
    image = byId.get(imageSelect.value);
    imageInfo.textContent = image ? `${image.Description || ''} (${image.Architecture}, ${image.VirtualizationType}, ${image.RootDeviceType} root on ${image.RootDeviceName}${image.ImageOwnerAlias ? `, from ${image.ImageOwnerAlias}` : ''})` : '';
    volumes = image ? (image.BlockDeviceMappings || []).map((m) => ({ ...m, Ebs: m.Ebs ? { ...m.Ebs } : undefined, fromImage: true })) : [];
    drawStorage();
    drawTypes();
  }
  function drawStorage() {
    const rows = volumes.map((v, i) => {
      if (!v.Ebs) {
        return h('tr', h('td.mono', v.DeviceName), h('td', { colspan: 4 }, v.VirtualName ? `instance store (${v.VirtualName})` : 'no device'), h('td'));
      }
      const size = h('input', { type: 'number', min: 1, value: String(v.Ebs.VolumeSize || 8), 'aria-label': `Size of ${v.DeviceName}`, onchange: (e) => { v.Ebs.VolumeSize = Number(e.target.value); v.changed = true; drawSummary(); } });
      const type = select(VOLUME_TYPES, v.Ebs.VolumeType || 'gp2', { 'aria-label': `Type of ${v.DeviceName}`, onchange: (e) => { v.Ebs.VolumeType = e.target.value; v.changed = true; } });
      const dot = h('input', { type: 'checkbox', checked: v.Ebs.DeleteOnTermination !== false, 'aria-label': `Delete ${v.DeviceName} on termination`, onchange: (e) => { v.Ebs.DeleteOnTermination = e.target.checked; v.changed = true; } });
      return h('tr', h('td.mono', v.DeviceName), h('td', v.Ebs.SnapshotId ? h('span.mono', v.Ebs.SnapshotId) : 'new empty volume'),
        h('td', size), h('td', type), h('td', dot),
        h('td', v.fromImage ? '' : h('button.btn', { onclick: () => { volumes.splice(i, 1); drawStorage(); } }, 'Remove')));
    });
    clear(storage, h('table.grid', h('thead', h('tr', ['Device', 'Source', 'Size (GiB)', 'Type', 'Delete on termination', ''].map((x) => h('th', x)))), h('tbody', rows)),
      h('p', h('button.btn', {
        onclick: () => {
          const used = new Set(volumes.map((v) => v.DeviceName));
          const letter = 'bcdefghijklmnop'.split('').find((c) => !used.has(`/dev/sd${c}`));
          volumes.push({ DeviceName: `/dev/sd${letter}`, Ebs: { VolumeSize: 1, VolumeType: 'gp3', DeleteOnTermination: true }, changed: true });
          drawStorage();
        },
      }, 'Add new volume')));
    drawSummary();
  }
  function drawSummary() {
    const disks = volumes.filter((v) => v.Ebs).map((v) => `${v.DeviceName}: ${v.Ebs.VolumeSize || '?'} GiB`).join(', ');
    clear(summary,
      h('dt', 'Image'), h('dd', image ? `${image.Name} (${image.ImageId})` : '-'),
      h('dt', 'Instance type'), h('dd', typeSelect.value || '-'),
      h('dt', 'Key pair'), h('dd', keySelect.value || 'none'),
      h('dt', 'Firewall'), h('dd', sgMode.value === 'create' ? `New group ${sgName.value}` : `${chosenGroups.size} group(s)`),
      h('dt', 'Storage'), h('dd', disks || '-'));
  }
  imageSelect.addEventListener('change', drawImage);
  typeSelect.addEventListener('change', drawTypeInfo);
  keySelect.addEventListener('change', drawSummary);
  drawImage();

  async function securityGroups() {
    if (sgMode.value === 'existing') return [...chosenGroups];
    const vpc = vpcOf();
    const g = await ec2(new CreateSecurityGroupCommand({
      GroupName: sgName.value.trim(), Description: `created by the amibox console ${new Date().toISOString()}`,
      VpcId: vpc,
    }));
    if (sshOpen.checked) {
      await ec2(new AuthorizeSecurityGroupIngressCommand({
        GroupId: g.GroupId,
        IpPermissions: [{
          IpProtocol: 'tcp', FromPort: 22, ToPort: 22,
          ...(sshFrom.value.includes(':') ? { Ipv6Ranges: [{ CidrIpv6: sshFrom.value, Description: 'SSH' }] }
            : { IpRanges: [{ CidrIp: sshFrom.value, Description: 'SSH' }] }),
        }],
      }));
    }
    d.groups.push({ GroupId: g.GroupId, GroupName: sgName.value.trim(), VpcId: vpc });
    sgMode.value = 'existing';
    sgExisting.checked = true;
    chosenGroups.clear();
    chosenGroups.add(g.GroupId);
    drawGroups();
    return [g.GroupId];
  }

  async function launch() {
    error.hidden = true;
    launchButton.disabled = true;
    try {
      if (!image) throw new Error('Choose an image.');
      if (!typeSelect.value) throw new Error('No instance type runs this image.');
      const n = Math.max(1, Math.min(20, Number(count.value) || 1));
      const groups = await securityGroups();
      const input = {
        ImageId: image.ImageId, InstanceType: typeSelect.value, MinCount: n, MaxCount: n,
        KeyName: keySelect.value || undefined,
        InstanceInitiatedShutdownBehavior: shutdown.value,
        DisableApiTermination: protect.checked || undefined,
      };
      if (userData.value) input.UserData = userDataB64.checked ? userData.value.trim() : textBase64(userData.value);
      const changed = volumes.filter((v) => v.Ebs && v.changed);
      if (changed.length) {
        input.BlockDeviceMappings = changed.map((v) => ({
          DeviceName: v.DeviceName,
          Ebs: { VolumeSize: v.Ebs.VolumeSize, VolumeType: v.Ebs.VolumeType, DeleteOnTermination: v.Ebs.DeleteOnTermination !== false },
        }));
      }
      if (publicIp.value) {
        input.NetworkInterfaces = [{
          DeviceIndex: 0, SubnetId: subnetSelect.value || undefined, Groups: groups.length ? groups : undefined,
          AssociatePublicIpAddress: publicIp.value === 'true', DeleteOnTermination: true,
        }];
      } else {
        if (subnetSelect.value) input.SubnetId = subnetSelect.value;
        if (groups.length) input.SecurityGroupIds = groups;
      }
      if (name.value.trim()) {
        input.TagSpecifications = [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name.value.trim() }] }];
      }
      const r = await ec2(new RunInstancesCommand(input));
      const ids = (r.Instances || []).map((i) => i.InstanceId);
      // A new address for the outcome, so that the wizard's own address
      // ("Launch another", a link here) shows a new wizard.
      history.replaceState(null, '', `#/launch?launched=${ids.join(',')}`);
      clear(root, h('section.panel', h('div.panel-body',
        h('div.notice.success', { role: 'status' }, `Launched ${ids.length === 1 ? 'instance' : 'instances'} `,
          ids.map((id, k) => [k ? ', ' : '', h('a.mono', { href: `#/instances/${id}` }, id)]), '.'),
        h('div.row', h('a.btn.primary', { href: ids.length === 1 ? `#/instances/${ids[0]}` : '#/instances' }, 'View instances'),
          h('a.btn', { href: '#/launch' }, 'Launch another')))));
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      notify('error', `Launch failed: ${errorText(err)}`);
    } finally {
      launchButton.disabled = false;
    }
  }

  const section = (title, ...body) => h('section.panel', h('div.panel-head', h('h2', title)), h('div.panel-body.form', body));
  clear(root, pageHead('Launch an instance', 'Instances are real virtual machines, booted from the image\'s root volume.'),
    h('div.wizard',
      h('div',
        section('Name and tags', field('Name', name)),
        section('Application and OS image (AMI)', field('AMI', imageSelect), imageInfo),
        section('Instance type', field('Instance type', typeSelect, 'only the types that run this image'), typeInfo),
        section('Key pair (login)', field('Key pair name', keySelect), keyForm),
        section('Network settings', field('Subnet', subnetSelect), field('Auto-assign public IP', publicIp),
          h('div.row', h('label.field.inline', sgCreate, 'Create security group'), h('label.field.inline', sgExisting, 'Select existing security group')),
          groupsBox),
        section('Configure storage', storage),
        section('Advanced details', field('Shutdown behavior', shutdown),
          h('label.field.inline', protect, 'Termination protection'),
          field('User data', userData, 'a script or cloud-config the guest reads from the metadata service'),
          h('label.field.inline', userDataB64, 'User data is already base64-encoded'))),
      h('section.panel.summary', h('div.panel-head', h('h2', 'Summary')),
        h('div.panel-body.form', field('Number of instances', count), summary, error, launchButton))));
}

// The inline "Create new key pair": the private key is downloaded once, now.
export function newKeyPairForm(created) {
  const box = h('div.form', { hidden: true });
  const keyName = h('input', { id: 'new-key-name', placeholder: 'my-key', 'aria-label': 'New key pair name' });
  const keyType = select([['rsa', 'RSA'], ['ed25519', 'ED25519']], 'rsa', { 'aria-label': 'Key pair type' });
  const keyFormat = select([['pem', '.pem (OpenSSH)'], ['ppk', '.ppk (PuTTY)']], 'pem', { 'aria-label': 'Private key file format' });
  const note = h('p.small.muted');
  const toggle = h('button.btn', { onclick: () => { box.hidden = !box.hidden; } }, 'Create new key pair');
  clear(box, field('Key pair name', keyName), h('div.row', field('Type', keyType), field('Private key file format', keyFormat)),
    h('div.row', h('button.btn.primary', {
      id: 'new-key-create',
      onclick: async () => {
        try {
          const r = await createKeyPair(keyName.value.trim(), keyType.value, keyFormat.value);
          note.textContent = `Created ${r.KeyName}; its private key was saved as ${r.file}. amibox keeps only the public key: this was the only copy.`;
          box.hidden = true;
          created(r);
        } catch (err) {
          note.textContent = `Cannot create the key pair: ${errorText(err)}`;
        }
      },
    }, 'Create key pair')));
  return h('div', h('div.row', toggle), box, note);
}

export async function createKeyPair(name, type, format) {
  const r = await ec2(new CreateKeyPairCommand({ KeyName: name, KeyType: type, KeyFormat: format }));
  const file = `${r.KeyName}.${format}`;
  download(file, r.KeyMaterial, format === 'ppk' ? 'application/octet-stream' : 'application/x-pem-file');
  return { KeyName: r.KeyName, KeyType: type, KeyPairId: r.KeyPairId, KeyFingerprint: r.KeyFingerprint, file };
}
