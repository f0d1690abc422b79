// amibox integration test driven by the AWS SDK for JavaScript v3
// (@aws-sdk/client-ebs + @aws-sdk/client-ec2, versions pinned in package.json).
//
// Run by tests/integration/t_js_sdk.sh, which starts the daemon and exports
// ENDPOINT, ALICE_ID/KEY/SECRET and BOB_ID/KEY/SECRET.
//
// Each step is run even if an earlier one failed (later steps that depend on
// a failed one fail too); the process exits non-zero if any step failed.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Readable } from 'node:stream';

import {
  EBSClient,
  StartSnapshotCommand,
  PutSnapshotBlockCommand,
  CompleteSnapshotCommand,
  ListSnapshotBlocksCommand,
  GetSnapshotBlockCommand,
  ValidationExceptionReason,
} from '@aws-sdk/client-ebs';
import {
  EC2Client,
  DescribeSnapshotsCommand,
  DescribeSnapshotAttributeCommand,
  CreateTagsCommand,
  DescribeTagsCommand,
  DeleteTagsCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  DescribeImagesCommand,
  ModifyImageAttributeCommand,
  DescribeImageAttributeCommand,
  CopyImageCommand,
  DeregisterImageCommand,
  DeleteSnapshotCommand,
  paginateDescribeSnapshots,
} from '@aws-sdk/client-ec2';

// ---------------------------------------------------------------- setup

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`FAIL: environment variable ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const ENDPOINT = env('ENDPOINT');
const ALICE_ID = env('ALICE_ID');
const BOB_ID = env('BOB_ID');
const ALICE = { accessKeyId: env('ALICE_KEY'), secretAccessKey: env('ALICE_SECRET') };
const BOB = { accessKeyId: env('BOB_KEY'), secretAccessKey: env('BOB_SECRET') };
const REGION = 'us-east-1';
const BLOCK_SIZE = 524288;

function clients(credentials) {
  const common = { endpoint: ENDPOINT, region: REGION, credentials };
  return { ebs: new EBSClient(common), ec2: new EC2Client(common) };
}

const alice = clients(ALICE);
const bob = clients(BOB);

const sha256 = (buf) => createHash('sha256').update(buf).digest();
const b64sha256 = (buf) => sha256(buf).toString('base64');

// Sends a command and checks that the response carries a request id.
async function send(client, command) {
  const res = await client.send(command);
  assert.ok(res.$metadata, `${command.constructor.name}: no $metadata`);
  assert.ok(res.$metadata.requestId,
    `${command.constructor.name}: $metadata.requestId not set on success ` +
    `(the JS SDK reads it from the x-amzn-RequestId header)`);
  return res;
}

// Sends a command that must fail with error `name`; checks the request id.
async function sendExpectError(client, command, names, what) {
  const allowed = Array.isArray(names) ? names : [names];
  let res;
  try {
    res = await client.send(command);
  } catch (err) {
    assert.ok(allowed.includes(err.name),
      `${what}: expected error ${allowed.join(' or ')}, got ${err.name}: ${err.message}` +
      ` (HTTP ${err.$metadata?.httpStatusCode})`);
    assert.ok(err.$metadata?.requestId,
      `${what}: $metadata.requestId not set on error ${err.name}`);
    assert.ok(err.$metadata.httpStatusCode >= 400,
      `${what}: error status ${err.$metadata.httpStatusCode} is not an error status`);
    return err;
  }
  assert.fail(`${what}: expected error ${allowed.join(' or ')}, but the request succeeded ` +
    `(HTTP ${res?.$metadata?.httpStatusCode}, requestId ${res?.$metadata?.requestId})`);
}

const results = [];
// Each step is one case for `make check` (scripts/run-tests.sh).
function record(verdict, name) {
  if (process.env.AMIBOX_CASES_FILE) {
    appendFileSync(process.env.AMIBOX_CASES_FILE, `${verdict} ebs_ec2.mjs:${name}\n`);
  }
}
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    record('pass', name);
    console.log(`ok   - ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false, err });
    record('fail', name);
    console.log(`FAIL - ${name}`);
    const msg = (err && (err.stack || err.message)) || String(err);
    console.log(msg.split('\n').map((l) => '       ' + l).join('\n'));
    if (err && err.$metadata) {
      console.log(`       (error ${err.name}, HTTP ${err.$metadata.httpStatusCode}, ` +
        `requestId ${err.$metadata.requestId})`);
    }
  }
}

function need(value, what) {
  if (value === undefined || value === null) {
    throw new Error(`skipped: depends on an earlier failed step (${what})`);
  }
  return value;
}

// ---------------------------------------------------------------- data

const TAGS = [
  { Key: 'purpose', Value: 'js-sdk-test' },
  { Key: 'Name', Value: 'amibox js sdk' },
];
const DESCRIPTION = 'amibox JS SDK v3 integration test';

// Blocks written: 0 and 3 from Buffers, 5 from a stream.
const blocks = new Map([
  [0, randomBytes(BLOCK_SIZE)],
  [3, randomBytes(BLOCK_SIZE)],
  [5, randomBytes(BLOCK_SIZE)],
]);

let snapId; // the main snapshot
let listed; // ListSnapshotBlocks result
const extraSnapIds = []; // for pagination

// ---------------------------------------------------------------- EBS

await step('EBS StartSnapshot', async () => {
  const res = await send(alice.ebs, new StartSnapshotCommand({
    VolumeSize: 1,
    Description: DESCRIPTION,
    Tags: TAGS,
    Timeout: 60,
  }));
  assert.match(res.SnapshotId ?? '', /^snap-[0-9a-f]+$/, 'SnapshotId');
  snapId = res.SnapshotId;
  assert.equal(res.Status, 'pending', 'Status');
  assert.equal(res.BlockSize, BLOCK_SIZE, 'BlockSize');
  assert.equal(res.VolumeSize, 1, 'VolumeSize');
  assert.ok(res.StartTime instanceof Date && !isNaN(res.StartTime), 'StartTime is a Date');
  assert.ok(Math.abs(res.StartTime.getTime() - Date.now()) < 10 * 60 * 1000,
    `StartTime ${res.StartTime.toISOString()} is not about now`);
  assert.equal(res.OwnerId, ALICE_ID, 'OwnerId');
  assert.equal(res.Description, DESCRIPTION, 'Description');
  assert.deepEqual(
    [...(res.Tags ?? [])].sort((a, b) => a.Key.localeCompare(b.Key)),
    [...TAGS].sort((a, b) => a.Key.localeCompare(b.Key)), 'Tags');
});

for (const index of [0, 3]) {
  await step(`EBS PutSnapshotBlock ${index} (Buffer body)`, async () => {
    const data = blocks.get(index);
    const res = await send(alice.ebs, new PutSnapshotBlockCommand({
      SnapshotId: need(snapId, 'StartSnapshot'),
      BlockIndex: index,
      BlockData: data,
      DataLength: BLOCK_SIZE,
      Checksum: b64sha256(data),
      ChecksumAlgorithm: 'SHA256',
    }));
    assert.equal(res.$metadata.httpStatusCode, 201, 'HTTP status');
    assert.equal(res.Checksum, b64sha256(data), 'response x-amz-Checksum');
    assert.equal(res.ChecksumAlgorithm, 'SHA256', 'response x-amz-Checksum-Algorithm');
  });
}

await step('EBS PutSnapshotBlock 5 (streamed body: chunked, UNSIGNED-PAYLOAD)', async () => {
  const data = blocks.get(5);
  // Uneven chunk sizes so the HTTP chunks do not line up with anything.
  const cuts = [0, 1, 1000, 65536 + 7, 300001, BLOCK_SIZE];
  const pieces = [];
  for (let i = 0; i + 1 < cuts.length; i++) pieces.push(data.subarray(cuts[i], cuts[i + 1]));
  const body = Readable.from(pieces, { objectMode: false });
  const command = new PutSnapshotBlockCommand({
    SnapshotId: need(snapId, 'StartSnapshot'),
    BlockIndex: 5,
    BlockData: body,
    DataLength: BLOCK_SIZE, // required by the API (x-amz-Data-Length)
    Checksum: b64sha256(data),
    ChecksumAlgorithm: 'SHA256',
  });
  // Record the signed request as it goes on the wire, to make sure this
  // really is the unsigned, length-less (chunked) form.
  let sent;
  command.middlewareStack.add((next) => async (args) => {
    sent = { ...args.request.headers };
    return next(args);
  }, { step: 'deserialize', name: 'amiboxRecordHeaders' });
  const res = await send(alice.ebs, command);
  assert.equal(sent['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD', 'sent x-amz-content-sha256');
  assert.equal(sent['content-length'], undefined, 'sent no Content-Length (so node chunks it)');
  assert.equal(res.$metadata.httpStatusCode, 201, 'HTTP status');
  assert.equal(res.Checksum, b64sha256(data), 'response x-amz-Checksum');
});

await step('EBS CompleteSnapshot (LINEAR aggregate checksum)', async () => {
  const indices = [...blocks.keys()].sort((a, b) => a - b);
  const aggregate = sha256(Buffer.concat(indices.map((i) => sha256(blocks.get(i)))))
    .toString('base64');
  const res = await send(alice.ebs, new CompleteSnapshotCommand({
    SnapshotId: need(snapId, 'StartSnapshot'),
    ChangedBlocksCount: 3,
    Checksum: aggregate,
    ChecksumAlgorithm: 'SHA256',
    ChecksumAggregationMethod: 'LINEAR',
  }));
  assert.equal(res.$metadata.httpStatusCode, 202, 'HTTP status');
  assert.equal(res.Status, 'completed', 'Status');
});

await step('EBS ListSnapshotBlocks', async () => {
  const res = await send(alice.ebs, new ListSnapshotBlocksCommand({
    SnapshotId: need(snapId, 'StartSnapshot'),
  }));
  assert.deepEqual((res.Blocks ?? []).map((b) => b.BlockIndex), [0, 3, 5], 'block indices');
  for (const b of res.Blocks) {
    assert.ok(typeof b.BlockToken === 'string' && b.BlockToken.length > 0,
      `block ${b.BlockIndex} has a BlockToken`);
  }
  assert.ok(res.ExpiryTime instanceof Date && !isNaN(res.ExpiryTime), 'ExpiryTime is a Date');
  assert.ok(res.ExpiryTime.getTime() > Date.now(), 'ExpiryTime is in the future');
  assert.equal(res.VolumeSize, 1, 'VolumeSize');
  assert.equal(res.BlockSize, BLOCK_SIZE, 'BlockSize');
  assert.ok(!res.NextToken, 'no NextToken for 3 blocks');
  listed = res;
});

await step('EBS GetSnapshotBlock returns the bytes written', async () => {
  need(listed, 'ListSnapshotBlocks');
  for (const b of listed.Blocks) {
    const res = await send(alice.ebs, new GetSnapshotBlockCommand({
      SnapshotId: snapId,
      BlockIndex: b.BlockIndex,
      BlockToken: b.BlockToken,
    }));
    const got = Buffer.from(await res.BlockData.transformToByteArray());
    const want = blocks.get(b.BlockIndex);
    assert.equal(got.length, want.length, `block ${b.BlockIndex}: length`);
    assert.ok(got.equals(want), `block ${b.BlockIndex}: bytes differ from what was written`);
    assert.equal(res.DataLength, BLOCK_SIZE, `block ${b.BlockIndex}: DataLength`);
    assert.equal(res.Checksum, b64sha256(want), `block ${b.BlockIndex}: Checksum`);
    assert.equal(res.ChecksumAlgorithm, 'SHA256', `block ${b.BlockIndex}: ChecksumAlgorithm`);
  }
});

await step('EBS PutSnapshotBlock with a bad checksum -> ValidationException', async () => {
  const start = await send(alice.ebs, new StartSnapshotCommand({ VolumeSize: 1, Timeout: 60 }));
  assert.equal(start.Status, 'pending');
  const data = randomBytes(BLOCK_SIZE);
  const wrong = b64sha256(Buffer.from('not the block'));
  const err = await sendExpectError(alice.ebs, new PutSnapshotBlockCommand({
    SnapshotId: start.SnapshotId,
    BlockIndex: 1,
    BlockData: data,
    DataLength: BLOCK_SIZE,
    Checksum: wrong,
    ChecksumAlgorithm: 'SHA256',
  }), 'ValidationException', 'bad checksum');
  assert.equal(err.$metadata.httpStatusCode, 400, 'HTTP status of the ValidationException');
  assert.ok(Object.values(ValidationExceptionReason).includes(err.Reason),
    `ValidationException Reason ${err.Reason} is one the SDK knows`);
  // Nothing must have been stored for the rejected block.
  const listedBad = await send(alice.ebs, new ListSnapshotBlocksCommand({
    SnapshotId: start.SnapshotId,
  })).catch((e) => e);
  if (!(listedBad instanceof Error)) {
    assert.deepEqual(listedBad.Blocks ?? [], [], 'rejected block must not be listed');
  }
});

// ---------------------------------------------------------------- EC2

await step('EC2 DescribeSnapshots SnapshotIds [id]', async () => {
  const res = await send(alice.ec2, new DescribeSnapshotsCommand({
    SnapshotIds: [need(snapId, 'StartSnapshot')],
  }));
  assert.equal(res.Snapshots?.length, 1, 'exactly one snapshot');
  const s = res.Snapshots[0];
  assert.equal(s.SnapshotId, snapId);
  assert.equal(s.State, 'completed', 'State');
  assert.equal(s.OwnerId, ALICE_ID, 'OwnerId');
  assert.equal(s.VolumeSize, 1, 'VolumeSize');
  assert.equal(s.Description, DESCRIPTION, 'Description');
  assert.ok(s.StartTime instanceof Date && !isNaN(s.StartTime), 'StartTime is a Date');
  for (const t of TAGS) {
    assert.ok((s.Tags ?? []).some((x) => x.Key === t.Key && x.Value === t.Value),
      `Tags include ${t.Key}=${t.Value} (got ${JSON.stringify(s.Tags)})`);
  }
});

await step("EC2 DescribeSnapshots Filters tag:purpose=js* OwnerIds ['self']", async () => {
  const res = await send(alice.ec2, new DescribeSnapshotsCommand({
    OwnerIds: ['self'],
    Filters: [{ Name: 'tag:purpose', Values: ['js*'] }],
  }));
  const ids = (res.Snapshots ?? []).map((s) => s.SnapshotId);
  assert.ok(ids.includes(need(snapId, 'StartSnapshot')), `found ${JSON.stringify(ids)}`);
  const none = await send(alice.ec2, new DescribeSnapshotsCommand({
    OwnerIds: ['self'],
    Filters: [{ Name: 'tag:purpose', Values: ['nomatch*'] }],
  }));
  assert.deepEqual(none.Snapshots ?? [], [], 'a non-matching tag filter finds nothing');
});

await step('EBS StartSnapshot+CompleteSnapshot x8 (empty snapshots for paging)', async () => {
  for (let i = 0; i < 8; i++) {
    const s = await send(alice.ebs, new StartSnapshotCommand({
      VolumeSize: 1,
      Description: `page ${i}`,
      Tags: [{ Key: 'page', Value: String(i) }],
      Timeout: 60,
    }));
    const c = await send(alice.ebs, new CompleteSnapshotCommand({
      SnapshotId: s.SnapshotId,
      ChangedBlocksCount: 0,
    }));
    assert.equal(c.Status, 'completed', `empty snapshot ${i}: Status`);
    extraSnapIds.push(s.SnapshotId);
  }
});

await step('EC2 paginateDescribeSnapshots MaxResults 5: every snapshot exactly once', async () => {
  assert.ok(extraSnapIds.length >= 7, 'at least 7 extra snapshots were created');
  const seen = new Map();
  const tokens = new Set();
  let pages = 0;
  const paginator = paginateDescribeSnapshots(
    { client: alice.ec2, pageSize: 5 },
    { OwnerIds: ['self'] });
  for await (const page of paginator) {
    pages++;
    assert.ok(pages <= 20, 'more than 20 pages: the paginator is looping');
    assert.ok(page.$metadata?.requestId, `page ${pages}: $metadata.requestId`);
    assert.ok((page.Snapshots ?? []).length <= 5, `page ${pages}: more than MaxResults items`);
    for (const s of page.Snapshots ?? []) {
      seen.set(s.SnapshotId, (seen.get(s.SnapshotId) ?? 0) + 1);
      assert.equal(s.OwnerId, ALICE_ID, `${s.SnapshotId}: OwnerId`);
    }
    if (page.NextToken) {
      assert.ok(!tokens.has(page.NextToken), `NextToken ${page.NextToken} handed out twice`);
      tokens.add(page.NextToken);
    }
  }
  const dups = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(dups, [], 'snapshots returned more than once');
  for (const id of [need(snapId, 'StartSnapshot'), ...extraSnapIds]) {
    assert.ok(seen.has(id), `${id} missing from the paginated listing`);
  }
  assert.ok(pages >= 2, `expected at least 2 pages for ${seen.size} snapshots, got ${pages}`);
});

const tagsOf = async (id) => {
  const res = await send(alice.ec2, new DescribeTagsCommand({
    Filters: [{ Name: 'resource-id', Values: [id] }],
  }));
  for (const t of res.Tags ?? []) {
    assert.equal(t.ResourceId, id, 'DescribeTags ResourceId');
    assert.equal(t.ResourceType, 'snapshot', 'DescribeTags ResourceType');
  }
  return Object.fromEntries((res.Tags ?? []).map((t) => [t.Key, t.Value]));
};

await step('EC2 CreateTags / DescribeTags on the snapshot', async () => {
  const id = need(snapId, 'StartSnapshot');
  await send(alice.ec2, new CreateTagsCommand({
    Resources: [id],
    Tags: [{ Key: 'extra', Value: 'one two' }, { Key: 'team', Value: 'a&b=c' }],
  }));
  assert.deepEqual(await tagsOf(id), {
    purpose: 'js-sdk-test', Name: 'amibox js sdk', extra: 'one two', team: 'a&b=c',
  }, 'tags after CreateTags');

  // Overwrite a value.
  await send(alice.ec2, new CreateTagsCommand({
    Resources: [id], Tags: [{ Key: 'extra', Value: 'three' }],
  }));
  assert.equal((await tagsOf(id)).extra, 'three', 'CreateTags overwrites a value');
});

await step('EC2 DeleteTags: a key with a value deletes only on a match', async () => {
  const id = need(snapId, 'StartSnapshot');
  await send(alice.ec2, new DeleteTagsCommand({
    Resources: [id],
    Tags: [{ Key: 'Name', Value: 'not the value' }, { Key: 'extra' }, { Key: 'team', Value: 'a&b=c' }],
  }));
  assert.deepEqual(await tagsOf(id), {
    purpose: 'js-sdk-test', Name: 'amibox js sdk',
  }, 'tags after DeleteTags');
});

await step('EC2 CreateTags with an empty value (Tag.1.Value= mid-body)', async () => {
  const id = need(snapId, 'StartSnapshot');
  // The JS SDK sends "...&Tag.1.Key=empty&Tag.1.Value=&Tag.2.Key=...":
  // an empty parameter value that is not the last one in the body.
  await send(alice.ec2, new CreateTagsCommand({
    Resources: [id],
    Tags: [{ Key: 'empty', Value: '' }, { Key: 'after', Value: 'x' }],
  }));
  const tags = await tagsOf(id);
  assert.deepEqual(tags, {
    purpose: 'js-sdk-test', Name: 'amibox js sdk', empty: '', after: 'x',
  }, 'tags after CreateTags with an empty value');
  const d = await send(alice.ec2, new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
  const t = (d.Snapshots?.[0]?.Tags ?? []).find((x) => x.Key === 'empty');
  assert.equal(t?.Value, '', 'DescribeSnapshots tagSet value of the empty tag');
  await send(alice.ec2, new DeleteTagsCommand({
    Resources: [id], Tags: [{ Key: 'empty', Value: '' }, { Key: 'after' }],
  }));
  assert.deepEqual(await tagsOf(id), { purpose: 'js-sdk-test', Name: 'amibox js sdk' },
    'DeleteTags with Value "" removes a tag whose value is ""');
});

await step('EC2 ModifySnapshotAttribute add bob; bob can see it', async () => {
  const id = need(snapId, 'StartSnapshot');
  await send(alice.ec2, new ModifySnapshotAttributeCommand({
    SnapshotId: id,
    Attribute: 'createVolumePermission',
    CreateVolumePermission: { Add: [{ UserId: BOB_ID }] },
  }));
  const attr = await send(alice.ec2, new DescribeSnapshotAttributeCommand({
    SnapshotId: id, Attribute: 'createVolumePermission',
  }));
  assert.deepEqual(attr.CreateVolumePermissions?.map((p) => p.UserId), [BOB_ID],
    'DescribeSnapshotAttribute createVolumePermission');

  const byId = await send(bob.ec2, new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
  assert.equal(byId.Snapshots?.length, 1, 'bob: DescribeSnapshots SnapshotIds [id]');
  assert.equal(byId.Snapshots[0].OwnerId, ALICE_ID, "bob sees alice's OwnerId");
  const restorable = await send(bob.ec2, new DescribeSnapshotsCommand({
    RestorableByUserIds: ['self'],
  }));
  assert.ok((restorable.Snapshots ?? []).some((s) => s.SnapshotId === id),
    "bob: RestorableByUserIds ['self'] includes it");
  const bobOwn = await send(bob.ec2, new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  assert.ok(!(bobOwn.Snapshots ?? []).some((s) => s.SnapshotId === id),
    "bob: OwnerIds ['self'] must not include alice's snapshot");
});

await step('EC2 ModifySnapshotAttribute remove bob; bob gets InvalidSnapshot.NotFound', async () => {
  const id = need(snapId, 'StartSnapshot');
  await send(alice.ec2, new ModifySnapshotAttributeCommand({
    SnapshotId: id,
    Attribute: 'createVolumePermission',
    CreateVolumePermission: { Remove: [{ UserId: BOB_ID }] },
  }));
  await sendExpectError(bob.ec2, new DescribeSnapshotsCommand({ SnapshotIds: [id] }),
    'InvalidSnapshot.NotFound', 'bob DescribeSnapshots after remove');
  const restorable = await send(bob.ec2, new DescribeSnapshotsCommand({
    RestorableByUserIds: ['self'],
  }));
  assert.ok(!(restorable.Snapshots ?? []).some((s) => s.SnapshotId === id),
    "bob: RestorableByUserIds ['self'] no longer includes it");
});

// ---------------------------------------------------------------- images

let imageId;
await step('EC2 RegisterImage from the snapshot, DescribeImages by ID', async () => {
  const res = await send(alice.ec2, new RegisterImageCommand({
    Name: `js-image-${Date.now()}`,
    Architecture: 'x86_64',
    VirtualizationType: 'hvm',
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: need(snapId, 'StartSnapshot'), VolumeType: 'gp3' } },
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
    ],
    TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'purpose', Value: 'js-image' }] }],
  }));
  imageId = res.ImageId;
  assert.match(imageId, /^ami-[0-9a-f]{17}$/);
  const d = await send(alice.ec2, new DescribeImagesCommand({ ImageIds: [imageId] }));
  const img = d.Images?.[0];
  assert.equal(img?.ImageId, imageId);
  assert.equal(img.State, 'available');
  assert.equal(img.OwnerId, ALICE_ID);
  assert.equal(img.Public, false, 'Public is a boolean false');
  assert.equal(img.RootDeviceType, 'ebs');
  assert.equal(img.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId, snapId);
  assert.equal(img.BlockDeviceMappings[0].Ebs.VolumeSize, 1, 'VolumeSize is a number');
  assert.equal(img.BlockDeviceMappings[0].Ebs.DeleteOnTermination, true);
  assert.equal(img.BlockDeviceMappings[1].VirtualName, 'ephemeral0');
  assert.deepEqual(img.Tags, [{ Key: 'purpose', Value: 'js-image' }]);
});

await step('EC2 share the image with bob; bob finds it by owner and name, cannot change it', async () => {
  const id = need(imageId, 'RegisterImage');
  await send(alice.ec2, new ModifyImageAttributeCommand({
    ImageId: id, LaunchPermission: { Add: [{ UserId: BOB_ID }] },
  }));
  const attr = await send(alice.ec2, new DescribeImageAttributeCommand({
    ImageId: id, Attribute: 'launchPermission',
  }));
  assert.deepEqual(attr.LaunchPermissions?.map((p) => p.UserId), [BOB_ID]);
  const found = await send(bob.ec2, new DescribeImagesCommand({
    Owners: [ALICE_ID], Filters: [{ Name: 'name', Values: ['js-image-*'] }],
  }));
  assert.deepEqual(found.Images?.map((i) => i.ImageId), [id]);
  assert.ok(!found.Images[0].Tags?.length, "alice's tags are not shown to bob");
  await sendExpectError(bob.ec2, new DeregisterImageCommand({ ImageId: id }),
    'AuthFailure', 'bob DeregisterImage');
  const copy = await send(bob.ec2, new CopyImageCommand({
    SourceImageId: id, SourceRegion: 'us-east-1', Name: `js-copy-${Date.now()}`,
  }));
  const mine = await send(bob.ec2, new DescribeImagesCommand({ ImageIds: [copy.ImageId] }));
  assert.equal(mine.Images?.[0]?.OwnerId, BOB_ID, 'the copy is bob\'s');
  await send(bob.ec2, new DeregisterImageCommand({ ImageId: copy.ImageId }));
});

await step('EC2 DeleteSnapshot behind an image -> InvalidSnapshot.InUse; DeregisterImage', async () => {
  const id = need(imageId, 'RegisterImage');
  await sendExpectError(alice.ec2, new DeleteSnapshotCommand({ SnapshotId: snapId }),
    'InvalidSnapshot.InUse', "DeleteSnapshot of an image's snapshot");
  await send(alice.ec2, new DeregisterImageCommand({ ImageId: id }));
  // As on EC2, a recently deregistered image is still described by ID.
  const gone = await send(alice.ec2, new DescribeImagesCommand({ ImageIds: [id] }));
  assert.deepEqual(gone.Images?.map((i) => [i.ImageId, i.State]), [[id, 'deregistered']],
    'DescribeImages right after DeregisterImage');
  await sendExpectError(alice.ec2, new DeregisterImageCommand({ ImageId: id }),
    'InvalidAMIID.Unavailable', 'second DeregisterImage');
});

await step('EC2 DeleteSnapshot', async () => {
  const id = need(snapId, 'StartSnapshot');
  const res = await send(alice.ec2, new DeleteSnapshotCommand({ SnapshotId: id }));
  assert.equal(res.$metadata.httpStatusCode, 200);
  await sendExpectError(alice.ec2, new DescribeSnapshotsCommand({ SnapshotIds: [id] }),
    'InvalidSnapshot.NotFound', 'DescribeSnapshots after DeleteSnapshot');
  await sendExpectError(alice.ec2, new DeleteSnapshotCommand({ SnapshotId: id }),
    'InvalidSnapshot.NotFound', 'second DeleteSnapshot');
});

// ---------------------------------------------------------------- auth

await step('EC2 with an unknown access key -> AuthFailure', async () => {
  const forged = clients({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: ALICE.secretAccessKey });
  await sendExpectError(forged.ec2, new DescribeSnapshotsCommand({ OwnerIds: ['self'] }),
    'AuthFailure', 'unknown access key');
});

await step("EC2 with alice's key and a wrong secret -> SignatureDoesNotMatch", async () => {
  const forged = clients({
    accessKeyId: ALICE.accessKeyId,
    secretAccessKey: ALICE.secretAccessKey.slice(0, -1) +
      (ALICE.secretAccessKey.endsWith('A') ? 'B' : 'A'),
  });
  await sendExpectError(forged.ec2, new DescribeSnapshotsCommand({ OwnerIds: ['self'] }),
    'SignatureDoesNotMatch', 'wrong secret');
});

await step("EBS with alice's key and a wrong secret -> 403 with a named error", async () => {
  const forged = clients({ accessKeyId: ALICE.accessKeyId, secretAccessKey: 'x'.repeat(40) });
  let err;
  try {
    await forged.ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'EBS StartSnapshot with a wrong secret succeeded');
  assert.equal(err.$metadata?.httpStatusCode, 403, `HTTP status (error ${err.name})`);
  assert.ok(err.$metadata.requestId, '$metadata.requestId on the EBS error');
  assert.notEqual(err.name, 'Unknown', 'EBS error has a name (x-amzn-ErrorType)');
  console.log(`       EBS wrong-secret error name: ${err.name}`);
});

// ---------------------------------------------------------------- summary

alice.ebs.destroy(); alice.ec2.destroy(); bob.ebs.destroy(); bob.ec2.destroy();
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length}/${results.length} steps passed`);
if (failed.length) {
  for (const f of failed) console.log(`  failed: ${f.name}`);
  process.exit(1);
}
