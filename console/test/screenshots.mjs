// Pictures of each view of the console for docs/console/, taken in
// Debian's Chromium against a daemon with a few resources of each kind.
// Run by scripts/console-screenshots.sh (which starts the daemon and
// exports ENDPOINT, KEY, SECRET and OUT); not part of the tests.
import { join } from 'node:path';

import {
  AuthorizeSecurityGroupIngressCommand, CreateKeyPairCommand, CreateSecurityGroupCommand, CreateSnapshotCommand,
  CreateTagsCommand, CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client,
  RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { openBrowser, signIn } from './browser.mjs';

const { ENDPOINT, KEY, SECRET, OUT } = process.env;
const credentials = { accessKeyId: KEY, secretAccessKey: SECRET };
const ec2 = new EC2Client({ endpoint: ENDPOINT, region: 'us-east-1', credentials });
const s3 = new S3Client({ endpoint: ENDPOINT, region: 'us-east-1', credentials, forcePathStyle: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A few resources, so that no view is empty.
const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images;
const hvm = images.find((i) => i.Name === 'amibox-sample-hvm').ImageId;
await ec2.send(new CreateKeyPairCommand({ KeyName: 'deploy', KeyType: 'ed25519' }));
await ec2.send(new CreateKeyPairCommand({ KeyName: 'ops' }));
const web = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web servers' }));
await ec2.send(new AuthorizeSecurityGroupIngressCommand({
  GroupId: web.GroupId,
  IpPermissions: [
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '127.0.0.1/32', Description: 'SSH from the host' }] },
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTP' }] },
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTPS' }] },
  ],
}));
for (const name of ['web-1', 'web-2']) {
  await ec2.send(new RunInstancesCommand({
    ImageId: hvm, InstanceType: 't2.micro', MinCount: 1, MaxCount: 1, KeyName: 'deploy', SecurityGroupIds: [web.GroupId],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
  }));
}
const vol = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 20, VolumeType: 'gp3' }));
await ec2.send(new CreateTagsCommand({ Resources: [vol.VolumeId], Tags: [{ Key: 'Name', Value: 'data' }] }));
await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 500, VolumeType: 'st1' }));
await sleep(1000);
await ec2.send(new CreateSnapshotCommand({ VolumeId: vol.VolumeId, Description: 'data, nightly' }));
await s3.send(new CreateBucketCommand({ Bucket: 'bundles' }));
await s3.send(new PutObjectCommand({ Bucket: 'bundles', Key: 'web/web.manifest.xml', Body: '<manifest/>' }));
await s3.send(new PutObjectCommand({ Bucket: 'bundles', Key: 'web/web.part.0', Body: new Uint8Array(10485760) }));
await s3.send(new PutObjectCommand({ Bucket: 'bundles', Key: 'README.txt', Body: 'bundles of the web image\n' }));
// Running, with output.
for (;;) {
  const r = await ec2.send(new DescribeInstancesCommand({}));
  if (r.Reservations.flatMap((x) => x.Instances).every((i) => i.State.Name === 'running')) break;
  await sleep(300);
}
await sleep(1500);

const { page, close } = await openBrowser({ width: 1440, height: 900 });
const shot = async (name, full = false) => {
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: full });
  console.log(`${name}.png`);
};
await page.goto(`${ENDPOINT}/console/`);
await page.waitForSelector('#access-key');
await page.fill('#access-key', KEY);
await shot('signin');
await signIn(page, ENDPOINT, KEY, SECRET);

await page.goto(`${ENDPOINT}/console/#/images`);
await page.selectOption('select[aria-label="Owner"]', 'amazon');
await page.locator('tr', { hasText: 'amibox-sample-hvm' }).locator('td:nth-child(2)').click();
await shot('images');
await page.click('.split [data-tab="storage"]');
await page.locator('.split').scrollIntoViewIfNeeded();
await shot('image-block-devices');

await page.goto(`${ENDPOINT}/console/#/launch?image=${hvm}`);
await page.waitForSelector('#launch-submit');
await page.fill('#launch-name', 'web-3');
await page.selectOption('#launch-key', 'deploy');
await shot('launch', true);

await page.goto(`${ENDPOINT}/console/#/instances`);
await page.locator('tr', { hasText: 'web-1' }).locator('td:nth-child(2)').click();
await page.click('.split [data-tab="console"]');
await page.waitForFunction(() => /boot/.test(document.querySelector('#console-output')?.textContent || ''));
await shot('instances', true);
await page.click('.split [data-tab="screen"]');
await page.waitForSelector('#instance-screen');
await shot('instance-screen', true);

await page.goto(`${ENDPOINT}/console/#/volumes`);
await page.locator('tr', { hasText: 'data' }).first().locator('td:nth-child(2)').click();
await shot('volumes');
await page.goto(`${ENDPOINT}/console/#/snapshots`);
await page.waitForSelector('section[data-table="Snapshots"] tbody tr');
await shot('snapshots');
await page.goto(`${ENDPOINT}/console/#/key-pairs`);
await page.waitForSelector('section[data-table="Key pairs"] tbody tr');
await shot('key-pairs');
await page.goto(`${ENDPOINT}/console/#/security-groups/${web.GroupId}`);
await page.waitForSelector('.split table tbody tr');
await shot('security-groups');
await page.goto(`${ENDPOINT}/console/#/buckets/bundles?prefix=web%2F`);
await page.waitForSelector('section[data-table="Objects"] tbody tr');
await shot('objects');
await page.goto(`${ENDPOINT}/console/#/usage`);
await page.waitForFunction(() => document.body.dataset.usage);
await shot('usage', true);

await close();
// The machines go before the daemon does.
const ids = (await ec2.send(new DescribeInstancesCommand({}))).Reservations.flatMap((x) => x.Instances).map((i) => i.InstanceId);
await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
for (;;) {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  if (r.Reservations.flatMap((x) => x.Instances).every((i) => i.State.Name === 'terminated')) break;
  await sleep(300);
}
ec2.destroy();
s3.destroy();
