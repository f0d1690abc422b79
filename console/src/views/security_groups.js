// Security groups: the list, each group's inbound and outbound rules
// (added and removed here, reaching running machines at once), create
// and delete.
import {
  AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, DescribeVpcsCommand,
  RevokeSecurityGroupEgressCommand, RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { allPages, ec2, getConfig } from '../aws.js';
import { clear, errorText, field, h, kv, menu, modal, notify, run, select, tabs, tag } from '../ui.js';
import { deleteItem, listPage, pageHead, refreshButton, tagsItem, tagsTable } from './common.js';

const PRESETS = {
  'Custom TCP': ['tcp', ''], 'Custom UDP': ['udp', ''], SSH: ['tcp', '22'], HTTP: ['tcp', '80'], HTTPS: ['tcp', '443'],
  'All TCP': ['tcp', '0-65535'], 'All UDP': ['udp', '0-65535'], 'All ICMP - IPv4': ['icmp', '-1'], 'All traffic': ['-1', ''],
};

function describeRule(r) {
  const proto = r.IpProtocol === '-1' ? 'All' : r.IpProtocol.toUpperCase();
  const ports = r.IpProtocol === '-1' || r.FromPort === -1 ? 'All'
    : r.FromPort === r.ToPort ? String(r.FromPort) : `${r.FromPort} - ${r.ToPort}`;
  const peer = r.CidrIpv4 || r.CidrIpv6 || (r.ReferencedGroupInfo && r.ReferencedGroupInfo.GroupId) || r.PrefixListId || '-';
  return { proto, ports, peer };
}

export function securityGroupsView(root, route) {
  let selected = [];
  const refresh = () => t.refresh();
  const actions = menu('Actions', [
    deleteItem({
      label: 'Delete security groups', selected: () => selected, name: (g) => g.GroupId, done: refresh,
      del: (g) => ec2(new DeleteSecurityGroupCommand({ GroupId: g.GroupId })),
    }),
    tagsItem(() => selected, (g) => g.GroupId, refresh),
  ]);
  const body = h('div');
  clear(root, pageHead('Security groups', 'The only firewall: a rule change reaches running instances at once.'), body);
  const t = listPage(body, {
    title: 'Security groups',
    load: () => allPages((NextToken) => ec2(new DescribeSecurityGroupsCommand({ NextToken })), (r) => r.SecurityGroups),
    selectId: route.id,
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { onclick: () => createGroup(refresh) }, 'Create security group')],
    searchPlaceholder: 'Find security groups',
    columns: [
      { label: 'Name', value: (g) => tag(g.Tags) },
      { label: 'Security group ID', value: (g) => g.GroupId, render: (g) => h('span.mono', g.GroupId) },
      { label: 'Security group name', value: (g) => g.GroupName },
      { label: 'VPC ID', value: (g) => g.VpcId || '' },
      { label: 'Description', value: (g) => g.Description || '' },
      { label: 'Owner', value: (g) => g.OwnerId },
      { label: 'Inbound rules', value: (g) => (g.IpPermissions || []).length },
      { label: 'Outbound rules', value: (g) => (g.IpPermissionsEgress || []).length },
    ],
    key: (g) => g.GroupId,
    search: (g) => `${tag(g.Tags)} ${g.GroupId} ${g.GroupName} ${g.Description || ''} ${g.VpcId || ''}`,
    empty: 'No security groups.',
    onSelect(rows) { selected = rows; },
    detail: (g, el) => {
      const tb = tabs([
        { id: 'details', label: 'Details', render: (b) => b.append(kv([['Name', g.GroupName], ['ID', h('span.mono', g.GroupId)], ['VPC', g.VpcId], ['Description', g.Description], ['Owner', g.OwnerId]])) },
        { id: 'inbound', label: 'Inbound rules', render: (b) => rulesTab(g, false, b, refresh) },
        { id: 'outbound', label: 'Outbound rules', render: (b) => rulesTab(g, true, b, refresh) },
        { id: 'tags', label: 'Tags', render: (b) => b.append(tagsTable(g.Tags)) },
      ], 'inbound');
      el.append(h('div.detail-head', h('h2', g.GroupName), h('span.mono.muted', g.GroupId)), tb);
      return () => tb.dispose();
    },
  });
  return () => t.dispose();
}

function rulesTab(group, egress, el, changed) {
  const box = h('div', h('p.panel-body.muted', 'Loading rules…'));
  el.append(box);
  const draw = async () => {
    const rules = (await allPages((NextToken) => ec2(new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: 'group-id', Values: [group.GroupId] }], NextToken,
    })), (r) => r.SecurityGroupRules)).filter((r) => Boolean(r.IsEgress) === egress);
    const revoke = (r) => run(`Removed ${r.SecurityGroupRuleId}.`, async () => {
      const Command = egress ? RevokeSecurityGroupEgressCommand : RevokeSecurityGroupIngressCommand;
      await ec2(new Command({ GroupId: group.GroupId, SecurityGroupRuleIds: [r.SecurityGroupRuleId] }));
      await draw();
      changed();
    });
    clear(box,
      h('div.panel-body.row', h('strong', `${egress ? 'Outbound' : 'Inbound'} rules (${rules.length})`), h('span.spacer'),
        h('button.btn', { onclick: () => addRule(group, egress, async () => { await draw(); changed(); }) }, 'Add rule')),
      h('div.table-wrap', h('table.grid',
        h('thead', h('tr', ['Security group rule ID', 'IP version', 'Protocol', 'Port range', egress ? 'Destination' : 'Source', 'Description', ''].map((x) => h('th', x)))),
        h('tbody', rules.map((r) => {
          const d = describeRule(r);
          return h('tr', h('td.mono', r.SecurityGroupRuleId), h('td', r.CidrIpv6 ? 'IPv6' : r.CidrIpv4 ? 'IPv4' : '-'),
            h('td', d.proto), h('td', d.ports), h('td.mono', d.peer), h('td', r.Description || '-'),
            h('td.right', h('button.btn', { onclick: () => revoke(r) }, 'Delete')));
        })))));
  };
  draw().catch((err) => clear(box, h('div.notice.error', errorText(err))));
}

function addRule(group, egress, done) {
  const type = select(Object.keys(PRESETS), 'SSH', { 'aria-label': 'Rule type' });
  const ports = h('input', { value: '22', 'aria-label': 'Port range', placeholder: '22 or 8000-8100' });
  const ip = getConfig().caller_ip;
  const peer = h('input', { value: egress ? '0.0.0.0/0' : (ip && !ip.includes(':') ? `${ip}/32` : '0.0.0.0/0'), 'aria-label': egress ? 'Destination' : 'Source', placeholder: 'CIDR or sg-...' });
  const description = h('input', { 'aria-label': 'Description' });
  type.addEventListener('change', () => {
    const [, p] = PRESETS[type.value];
    ports.value = p;
    ports.disabled = type.value === 'All traffic' || type.value.startsWith('All ICMP');
  });
  modal({
    title: `Add an ${egress ? 'outbound' : 'inbound'} rule to ${group.GroupName}`,
    body: h('div.form', field('Type', type), field('Port range', ports), field(egress ? 'Destination' : 'Source', peer, ip ? `my IP is ${ip}` : ''), field('Description', description)),
    actions: [{
      label: 'Add rule', primary: true,
      onClick: async () => {
        const [proto] = PRESETS[type.value];
        const perm = { IpProtocol: proto };
        if (proto === 'tcp' || proto === 'udp') {
          const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(ports.value.trim());
          if (!m) throw new Error('A port range is a port or FROM-TO.');
          perm.FromPort = Number(m[1]);
          perm.ToPort = Number(m[2] || m[1]);
        } else if (proto === 'icmp') {
          perm.FromPort = -1;
          perm.ToPort = -1;
        }
        const p = peer.value.trim();
        const desc = description.value || undefined;
        if (p.startsWith('sg-')) perm.UserIdGroupPairs = [{ GroupId: p, Description: desc }];
        else if (p.includes(':')) perm.Ipv6Ranges = [{ CidrIpv6: p, Description: desc }];
        else perm.IpRanges = [{ CidrIp: p, Description: desc }];
        const Command = egress ? AuthorizeSecurityGroupEgressCommand : AuthorizeSecurityGroupIngressCommand;
        await ec2(new Command({ GroupId: group.GroupId, IpPermissions: [perm] }));
        notify('success', `Rule added to ${group.GroupId}.`);
        await done();
        return true;
      },
    }],
  });
}

async function createGroup(done) {
  const vpcs = (await ec2(new DescribeVpcsCommand({}))).Vpcs || [];
  const name = h('input', { 'aria-label': 'Security group name' });
  const description = h('input', { 'aria-label': 'Description' });
  const vpc = select(vpcs.map((v) => [v.VpcId, `${v.VpcId} (${v.CidrBlock})${v.IsDefault ? ' default' : ''}`]),
    (vpcs.find((v) => v.IsDefault) || {}).VpcId, { 'aria-label': 'VPC' });
  modal({
    title: 'Create security group',
    body: h('div.form', field('Security group name', name), field('Description', description), field('VPC', vpc),
      h('p.muted', 'A new group lets nothing in and everything out; add inbound rules after.')),
    actions: [{
      label: 'Create security group', primary: true,
      onClick: async () => {
        const r = await ec2(new CreateSecurityGroupCommand({ GroupName: name.value.trim(), Description: description.value.trim() || name.value.trim(), VpcId: vpc.value || undefined }));
        notify('success', `Created ${r.GroupId}.`);
        done();
        return true;
      },
    }],
  });
}
