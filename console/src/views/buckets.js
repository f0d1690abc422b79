// Buckets and objects (S3): list, create and delete buckets; browse a
// bucket by prefix, upload, download, delete objects.  Bundles of
// instance-store AMIs are objects: a manifest can be registered from here.
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListBucketsCommand,
  ListObjectsV2Command, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { RegisterImageCommand } from '@aws-sdk/client-ec2';
import { allPages, download, ec2, s3 } from '../aws.js';
import { clear, errorText, field, fmtBytes, fmtTime, h, menu, modal, notify, select } from '../ui.js';
import { deleteItem, link, listPage, pageHead, refreshButton } from './common.js';

export function bucketsView(root) {
  let selected = [];
  const refresh = () => t.refresh();
  const body = h('div');
  clear(root, pageHead('Buckets', 'The object store (S3): bundles of instance-store AMIs live here.'), body);
  const actions = menu('Actions', [
    deleteItem({
      label: 'Delete buckets', selected: () => selected, name: (b) => b.Name, done: refresh,
      del: (b) => s3(new DeleteBucketCommand({ Bucket: b.Name })), note: 'A bucket must be empty.',
    }),
  ]);
  const t = listPage(body, {
    title: 'Buckets',
    load: async () => (await s3(new ListBucketsCommand({}))).Buckets || [],
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { onclick: () => createBucket(refresh) }, 'Create bucket')],
    searchPlaceholder: 'Find buckets by name',
    columns: [
      { label: 'Name', value: (b) => b.Name, render: (b) => h('a', { href: `#/buckets/${encodeURIComponent(b.Name)}` }, b.Name) },
      { label: 'Created', value: (b) => (b.CreationDate ? new Date(b.CreationDate).toISOString() : ''), render: (b) => fmtTime(b.CreationDate) },
    ],
    key: (b) => b.Name,
    search: (b) => b.Name,
    empty: 'No buckets.',
    onSelect(rows) { selected = rows; },
    detail: () => null,
  });
  return () => t.dispose();
}

function createBucket(done) {
  const name = h('input', { 'aria-label': 'Bucket name', placeholder: 'my-bundles' });
  modal({
    title: 'Create bucket',
    body: h('div.form', field('Bucket name', name, '3-63 lowercase letters, digits, dots and hyphens')),
    actions: [{
      label: 'Create bucket', primary: true,
      onClick: async () => {
        await s3(new CreateBucketCommand({ Bucket: name.value.trim() }));
        notify('success', `Created ${name.value.trim()}.`);
        done();
        return true;
      },
    }],
  });
}

export function objectsView(root, route) {
  const bucket = route.id;
  const prefix = route.params.get('prefix') || '';
  const href = (p) => `#/buckets/${encodeURIComponent(bucket)}${p ? `?prefix=${encodeURIComponent(p)}` : ''}`;
  let selected = [];
  const refresh = () => t.refresh();
  const files = h('input', { type: 'file', multiple: true, hidden: true, id: 'upload-files' });
  files.addEventListener('change', () => upload([...files.files]));
  const objectsOnly = () => selected.filter((o) => !o.folder);
  const actions = menu('Actions', [
    { label: 'Download', disabled: () => objectsOnly().length !== 1, onClick: () => get(objectsOnly()[0]) },
    { label: 'Register as AMI', disabled: () => objectsOnly().length !== 1 || !objectsOnly()[0].Key.endsWith('.manifest.xml'), onClick: () => registerBundle(bucket, objectsOnly()[0].Key) },
    deleteItem({
      label: 'Delete objects', selected: objectsOnly, name: (o) => o.Key, done: refresh,
      del: (o) => s3(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key })),
    }),
  ]);
  const crumbs = [h('a', { href: '#/buckets' }, 'Buckets'), ' / ', h('a', { href: href('') }, bucket)];
  let acc = '';
  for (const part of prefix.split('/').filter(Boolean)) {
    acc += `${part}/`;
    crumbs.push(' / ', h('a', { href: href(acc) }, part));
  }
  const body = h('div');
  clear(root, h('div.crumbs', crumbs), pageHead(bucket, prefix ? `Objects under ${prefix}` : 'Objects'), files, body);
  const t = listPage(body, {
    title: 'Objects',
    load: async () => {
      const folders = [];
      const objects = await allPages((ContinuationToken) => s3(new ListObjectsV2Command({
        Bucket: bucket, Prefix: prefix || undefined, Delimiter: '/', ContinuationToken,
      })).then((r) => { folders.push(...(r.CommonPrefixes || []).map((p) => ({ Key: p.Prefix, folder: true }))); return r; }),
      (r) => r.Contents, (r) => (r.IsTruncated ? r.NextContinuationToken : undefined));
      return [...folders, ...objects];
    },
    buttons: [refreshButton(() => refresh()), actions,
      h('button.btn.primary', { onclick: () => files.click() }, 'Upload')],
    searchPlaceholder: 'Find objects by name',
    columns: [
      { label: 'Name', value: (o) => (o.folder ? ` ${o.Key}` : o.Key), render: (o) => (o.folder
        ? h('a', { href: href(o.Key) }, `${o.Key.slice(prefix.length)}`)
        : h('span', o.Key.slice(prefix.length), o.Key.endsWith('.manifest.xml') ? h('span.badge.blue', { title: 'an AMI bundle\'s manifest' }, ' bundle manifest') : null)) },
      { label: 'Type', value: (o) => (o.folder ? 'Folder' : (o.Key.split('.').pop() || '')) },
      { label: 'Size', value: (o) => o.Size ?? -1, render: (o) => (o.folder ? '-' : fmtBytes(o.Size)) },
      { label: 'Last modified', value: (o) => (o.LastModified ? new Date(o.LastModified).toISOString() : ''), render: (o) => fmtTime(o.LastModified) },
      { label: 'ETag', value: (o) => o.ETag || '', render: (o) => h('span.mono', (o.ETag || '').replace(/"/g, '')) },
    ],
    key: (o) => o.Key,
    search: (o) => o.Key,
    empty: 'No objects here. Upload files, or bundle an image with amibox upload-bundle.',
    onSelect(rows) { selected = rows; },
    detail: (o, el) => {
      if (o.folder) return;
      el.append(h('div.detail-head', h('h2', o.Key)), h('div.panel-body.row',
        h('button.btn', { onclick: () => get(o) }, 'Download'),
        o.Key.endsWith('.manifest.xml') ? h('button.btn', { onclick: () => registerBundle(bucket, o.Key) }, 'Register as AMI') : null,
        h('span.muted', `${fmtBytes(o.Size)}, modified ${fmtTime(o.LastModified)}`)));
    },
  });
  async function upload(list) {
    for (const f of list) {
      notify('info', `Uploading ${f.name} (${fmtBytes(f.size)})…`);
      try {
        const bytes = new Uint8Array(await f.arrayBuffer());
        await s3(new PutObjectCommand({ Bucket: bucket, Key: prefix + f.name, Body: bytes, ContentType: f.type || 'application/octet-stream' }));
        notify('success', `Uploaded ${prefix + f.name}.`);
      } catch (err) {
        notify('error', `Cannot upload ${f.name}: ${errorText(err)}`);
      }
    }
    files.value = '';
    refresh();
  }
  async function get(o) {
    try {
      const r = await s3(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const bytes = await r.Body.transformToByteArray();
      download(o.Key.split('/').pop(), new Blob([bytes], { type: r.ContentType || 'application/octet-stream' }));
    } catch (err) {
      notify('error', `Cannot download ${o.Key}: ${errorText(err)}`);
    }
  }
  return () => t.dispose();
}

// RegisterImage of a bundle: ImageLocation is bucket/manifest.
function registerBundle(bucket, key) {
  const name = h('input', { value: key.split('/').pop().replace(/\.manifest\.xml$/, ''), 'aria-label': 'Image name' });
  const virt = select(['hvm', 'paravirtual'], 'hvm', { 'aria-label': 'Virtualization type' });
  const arch = select(['x86_64', 'i386'], 'x86_64', { 'aria-label': 'Architecture' });
  modal({
    title: 'Register an instance-store AMI',
    body: h('div.form', h('p', 'From the bundle ', h('code', `${bucket}/${key}`), ': amibox checks its signature and every part.'),
      field('Image name', name), field('Virtualization type', virt), field('Architecture', arch)),
    actions: [{
      label: 'Register', primary: true,
      onClick: async () => {
        const r = await ec2(new RegisterImageCommand({ ImageLocation: `${bucket}/${key}`, Name: name.value.trim(), VirtualizationType: virt.value, Architecture: arch.value }));
        notify('success', 'Registered ', link('images', r.ImageId), '.');
        return true;
      },
    }],
  });
}
