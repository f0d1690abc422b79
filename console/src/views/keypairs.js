// Key pairs: create (the private key is downloaded once, now), import a
// public key, delete.  Guests get the public key from the metadata service.
import { DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand } from '@aws-sdk/client-ec2';
import { ec2 } from '../aws.js';
import { clear, field, fmtTime, h, kv, menu, modal, notify, select, tag } from '../ui.js';
import { deleteItem, listPage, pageHead, refreshButton, tagsItem } from './common.js';
import { createKeyPair } from './launch.js';

export function keyPairsView(root) {
  let selected = [];
  const refresh = () => t.refresh();
  const actions = menu('Actions', [
    { label: 'Import key pair', onClick: () => importKey(refresh) },
    deleteItem({
      label: 'Delete key pairs', selected: () => selected, name: (k) => k.KeyName, done: refresh,
      del: (k) => ec2(new DeleteKeyPairCommand({ KeyPairId: k.KeyPairId })),
      note: 'Running instances keep the key they were given.',
    }),
    tagsItem(() => selected, (k) => k.KeyPairId, refresh),
  ]);
  const body = h('div');
  clear(root, pageHead('Key pairs', 'Public keys the guests receive through the metadata service.'), body);
  const t = listPage(body, {
    title: 'Key pairs',
    load: async () => (await ec2(new DescribeKeyPairsCommand({}))).KeyPairs || [],
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { id: 'create-key-pair', onclick: () => createKey(refresh) }, 'Create key pair')],
    searchPlaceholder: 'Find key pairs',
    columns: [
      { label: 'Name', value: (k) => k.KeyName },
      { label: 'Type', value: (k) => k.KeyType || '' },
      { label: 'Created', value: (k) => (k.CreateTime ? new Date(k.CreateTime).toISOString() : ''), render: (k) => fmtTime(k.CreateTime) },
      { label: 'Fingerprint', value: (k) => k.KeyFingerprint, render: (k) => h('span.mono', k.KeyFingerprint) },
      { label: 'ID', value: (k) => k.KeyPairId, render: (k) => h('span.mono', k.KeyPairId) },
    ],
    key: (k) => k.KeyPairId,
    search: (k) => `${k.KeyName} ${k.KeyPairId} ${tag(k.Tags)}`,
    empty: 'No key pairs.',
    onSelect(rows) { selected = rows; },
    detail: (k, el) => {
      el.append(h('div.detail-head', h('h2', k.KeyName)), kv([
        ['Name', k.KeyName], ['ID', h('span.mono', k.KeyPairId)], ['Type', k.KeyType], ['Fingerprint', h('span.mono', k.KeyFingerprint)],
        ['Created', fmtTime(k.CreateTime)], ['Tags', (k.Tags || []).map((x) => `${x.Key}=${x.Value}`).join(', ')],
      ]));
    },
  });
  return () => t.dispose();
}

function createKey(done) {
  const name = h('input', { id: 'key-name', 'aria-label': 'Key pair name', placeholder: 'my-key' });
  const type = select([['rsa', 'RSA'], ['ed25519', 'ED25519']], 'rsa', { 'aria-label': 'Key pair type' });
  const format = select([['pem', '.pem (OpenSSH)'], ['ppk', '.ppk (PuTTY)']], 'pem', { 'aria-label': 'Private key file format' });
  modal({
    title: 'Create key pair',
    body: h('div.form', field('Name', name), field('Key pair type', type), field('Private key file format', format),
      h('p.muted', 'The private key is downloaded now, once: amibox keeps only the public key.')),
    actions: [{
      label: 'Create key pair', primary: true,
      onClick: async () => {
        const k = await createKeyPair(name.value.trim(), type.value, format.value);
        notify('success', `Created ${k.KeyName}; its private key was saved as ${k.file}.`);
        done();
        return true;
      },
    }],
  });
}

function importKey(done) {
  const name = h('input', { 'aria-label': 'Key pair name' });
  const material = h('textarea', { placeholder: 'ssh-ed25519 AAAA... or ssh-rsa AAAA...', 'aria-label': 'Public key' });
  modal({
    title: 'Import key pair',
    body: h('div.form', field('Name', name), field('Public key', material, 'OpenSSH format')),
    actions: [{
      label: 'Import key pair', primary: true,
      onClick: async () => {
        await ec2(new ImportKeyPairCommand({ KeyName: name.value.trim(), PublicKeyMaterial: new TextEncoder().encode(material.value.trim()) }));
        notify('success', `Imported ${name.value.trim()}.`);
        done();
        return true;
      },
    }],
  });
}
